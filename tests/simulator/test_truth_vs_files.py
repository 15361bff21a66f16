"""The planted truth is what a correct reading of the written files gives, week by week."""

from __future__ import annotations

import polars as pl

from pipelines.simulator.truth import observable_active
from tests.simulator.conftest import DropZone
from pipelines.simulator.world import observed_counts
from tests.simulator.reference_reader import active_person_weeks, hr_frame, person_week_actions


def test_weekly_active_counts_from_the_files_equal_the_truth(drop_zone: DropZone) -> None:
    active, _ = active_person_weeks(drop_zone.path)
    from_files = active.group_by("week_start").len("active").sort("week_start")
    truth = pl.DataFrame(drop_zone.truth["weekly"]).select(
        pl.col("week_start").str.to_date(), pl.col("active").cast(pl.UInt32))
    joined = truth.join(from_files, on="week_start", how="left", suffix="_files").fill_null(0)
    assert joined["active"].sum() > 500
    assert joined["active"].to_list() == joined["active_files"].to_list()


def test_engaged_and_contributors_from_the_files_equal_the_truth(drop_zone: DropZone) -> None:
    """Engaged = a reaction or a contribution, contributor = a contribution, read from the files."""
    tiers, _ = person_week_actions(drop_zone.path)
    eligible = {(w["week_start"]) for w in drop_zone.truth["weekly"]}
    assert eligible
    for column, wanted in (("engaged", ["reaction", "contribution"]), ("contributors", ["contribution"])):
        from_files = (tiers.filter(pl.col("tier").is_in(wanted)).select("employee_id", "week_start").unique()
                      .group_by("week_start").len(column).sort("week_start"))
        truth = pl.DataFrame(drop_zone.truth["weekly"]).select(pl.col("week_start").str.to_date(),
                                                                pl.col(column).cast(pl.UInt32))
        joined = truth.join(from_files, on="week_start", how="left", suffix="_files").fill_null(0)
        assert joined[column].to_list() == joined[f"{column}_files"].to_list(), column
    weekly = pl.DataFrame(drop_zone.truth["weekly"])
    # reading is visible in this drop zone (Viva Engage usage reports): active > engaged > contributors
    assert (weekly["active"] >= weekly["engaged"]).all() and (weekly["engaged"] >= weekly["contributors"]).all()
    assert weekly["active"].sum() > weekly["engaged"].sum() > weekly["contributors"].sum()


def test_planned_observable_weeks_are_what_the_files_hold(drop_zone: DropZone) -> None:
    """The behaviour decides which weeks a correct pipeline sees; the written files hold exactly those."""
    world = drop_zone.world
    observed = observed_counts(world)
    planned = observable_active(world.behaviour, world.identity) & world.org.eligible
    assert ((observed.total > 0) == planned).all()


def test_active_people_from_the_files_are_exactly_the_observable_ones(drop_zone: DropZone) -> None:
    world = drop_zone.world
    active, _ = active_person_weeks(drop_zone.path)
    obs = observable_active(world.behaviour, world.identity) & world.org.eligible
    expected = {(world.org.employee_id[p], world.timeline.monday(t)) for p, t in zip(*obs.nonzero(), strict=True)}
    got = set(active.iter_rows())
    assert got == expected


def test_invisible_people_are_active_but_never_seen(drop_zone: DropZone) -> None:
    world = drop_zone.world
    invisible = ~world.identity.visible
    latent = (world.behaviour.factual.active & world.org.eligible)[invisible].sum()
    assert latent > 0, "the fixture should hold invisible active person-weeks"
    active, _ = active_person_weeks(drop_zone.path)
    ids = set(world.org.employee_id[invisible].tolist())
    assert not ids & set(active["employee_id"].to_list())
    assert drop_zone.truth["ever_active"]["invisible_ever_active"] > 0


def test_eligible_headcount_equals_hr_extracts_with_site_launch(drop_zone: DropZone) -> None:
    hr = hr_frame(drop_zone.path)
    late_site = drop_zone.truth["late_site"]["site"]
    launch = pl.lit(drop_zone.truth["late_site"]["launch"]).str.to_date()
    employed = hr.filter(pl.col("termination_date").is_null()
                         | (pl.col("termination_date").str.to_date() >= pl.col("snapshot_date")))
    eligible = employed.filter((pl.col("site") != late_site) | (pl.col("snapshot_date") >= launch))
    counts = eligible.group_by("snapshot_date").len().sort("snapshot_date")["len"].to_list()
    assert counts == [w["eligible"] for w in drop_zone.truth["weekly"]]
