"""The analyst notebooks: stored without outputs, and run top to bottom (nbclient, the venv's
python3 kernel) on the published marts of a small simulated organisation, and of the end-to-end
simulated organisation."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from report import small_org

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebooks_read_published_snapshots_never_the_warehouse(path: Path):
    """A notebook holding the warehouse would block the next run: they read the published folder."""
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "published_dir()" in code or "read_published" in code
    for opener in ("duckdb.connect", ".duckdb", "read_warehouse_table", "WarehouseResource"):
        assert opener not in code, f"{path.name} opens the warehouse ({opener})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebooks_are_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, path
    assert all(c.outputs == [] and c.execution_count is None for c in code), f"{path.name} has outputs: clear them"
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "python3"


def run_notebook(path: Path, published: Path, scratch: Path) -> str:
    """Execute ``path`` against ``published``; return the text it printed (raises on any cell error)."""
    nb = nbformat.read(path, as_version=4)
    env = {"UPTAKE_PUBLISHED": str(published), "UPTAKE_NOTEBOOK_SCRATCH": str(scratch),
           "PLOTLY_RENDERER": "json"}  # figures as JSON outputs: small and fast; nothing is stored
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    figures = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if "application/vnd.plotly.v1+json" in o.get("data", {}) or "application/json" in o.get("data", {}))
    assert figures >= 2, f"{path.name} drew {figures} figure(s)"
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.output_type == "stream")


@pytest.mark.xdist_group("small_org")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_runs_on_a_small_simulated_organisation(path: Path, tmp_path: Path):
    org = small_org.shared()
    printed = run_notebook(path, org.published, tmp_path)
    assert f"published tables in {org.published}; minimum group size 5" in printed
    if path.stem == "explore_adoption":
        curve = org.tables["marts.adoption_curve"]
        week = curve["week_start"].max()
        share = curve.filter((curve["population_type"] == "organisation") & (curve["week_start"] == week))
        assert f"{100 * share['active_rate'][0]:.1f}%  of the workforce active this week" in printed
        assert "Frontline staff are" in printed
    elif path.stem == "evaluate_pilot":
        assert "corrected for selection" in printed and "naive gap" in printed
        assert "smallest change in resolution_hours the pilot could detect" in printed
    else:
        assert "1 quarantined" in printed
        assert "strongest lag: 2 weeks (planted: 2)" in printed  # the planted lead-lag is found
        assert (tmp_path / "kpis" / "first_contact_resolution.csv").is_file()


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_runs_on_the_simulated_organisation(path: Path, simulated_run, tmp_path: Path):
    published = simulated_run.reports.parent / "published"
    assert (published / "marts" / "person_week.parquet").is_file(), "uptake run did not publish the marts"
    printed = run_notebook(path, published, tmp_path)
    assert "published tables in" in printed
