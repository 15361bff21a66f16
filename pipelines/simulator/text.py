"""Short realistic message texts, composed set-wise from sentence pools.

Categories and their guarantees (connectors derive ``is_question``, hashtags and mentions from text):

- ``statement``: no ``?``; may carry a topical hashtag (never ``#idea`` or ``#tip``);
- ``plain``: a statement without any hashtag (silent and busy-style spaces);
- ``question``: one sentence ending with ``?``;
- ``answer`` / ``ack``: replies, no ``?`` and no hashtag;
- ``idea``: carries ``#idea`` (sometimes ``#Idea``);
- ``busy``: chatter with emoji codes, no ``?``, no hashtag;
- ``file``: a note accompanying an upload, no ``?``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

STATEMENTS: tuple[str, ...] = (
    "Shift handover done, line 2 is running at full speed.",
    "Thanks everyone for the quick turnaround on the Lambert order.",
    "Updated the planning sheet for next week.",
    "Reminder: safety briefing tomorrow at 8:00 in room B.",
    "The new packaging samples arrived today.",
    "Customer visit went well, notes are in the shared folder.",
    "Great job on the audit preparation, team.",
    "Inventory count finished for aisle 4.",
    "Notes from the weekly sync are posted in the channel files.",
    "Release 4.2 is deployed to the test environment.",
    "The forklift in bay 3 is back from maintenance.",
    "Quarterly targets are now visible in the dashboard.",
    "Store opening hours change on Sunday, please check the rota.",
    "We closed 42 tickets this week, well done all.",
    "Supplier confirmed the delivery for Thursday morning.",
    "New onboarding guide for the team is ready.",
    "Line 5 downtime was caused by a worn conveyor belt.",
    "Welcome to Inès, who joins the planning team today.",
    "The training on the new scanners starts Monday.",
    "Price labels for the spring collection are printed.",
)
TOPIC_TAGS: tuple[str, ...] = ("#safety", "#lean", "#customer", "#teamwork", "#quality", "#onboarding")
QUESTIONS: tuple[str, ...] = (
    "Does anyone know how to reset the torque sensor on line 3?",
    "Who can approve a purchase order above 5k?",
    "Where do I find the latest price list?",
    "Has anyone seen error E42 on the label printer?",
    "Can someone explain the new returns process?",
    "Is the VPN down for anyone else?",
    "Which form do I use for a travel request?",
    "How do we log a near miss in the new tool?",
    "What torque setting do you use for the M8 bolts on the press?",
    "Who is on call for the ERP this weekend?",
    "How do I book the large meeting room in Lyon?",
    "Is there a template for the monthly quality report?",
    "Any tips for calibrating the new scales?",
    "Where is the spare filter stock kept now?",
)
ANSWERS: tuple[str, ...] = (
    "You can reset it from the maintenance menu, option 4.",
    "Try clearing the cache and signing in again.",
    "The form is on the intranet under HR, then Travel.",
    "Ask the shift lead, they have the approval rights.",
    "It was fixed this morning, it should work now.",
    "I had the same issue, replacing the ribbon solved it.",
    "We use 25 Nm, it is in the work instruction WI-207.",
    "The template is in the Quality folder on the shared drive.",
    "Spare filters are in cabinet 12 next to the compressor.",
    "Booking goes through the room calendar in Outlook.",
)
ACKS: tuple[str, ...] = (
    "Thanks, that helps!",
    "Agreed, let's do it.",
    "Good point, adding it to the list.",
    "+1",
    "Noted, I will follow up tomorrow.",
    "Great news, thank you.",
    "Done, see the updated file.",
)
IDEAS: tuple[str, ...] = (
    "Let's add a QR code on each machine linking to its manual.",
    "What about a shared calendar for forklift maintenance.",
    "We could reuse the cardboard from inbound deliveries for outbound parcels.",
    "A five-minute stand-up at shift change would cut handover errors.",
    "Put the top 10 customer questions on a card at every till.",
    "Sensors on the compressors could warn us before they fail.",
    "Let new starters shadow a buddy for their first week.",
)
BUSY: tuple[str, ...] = (
    "Great session today, thanks all! :tada:",
    "Loved this, congrats to the team :clap:",
    "Another record week for the store team!",
    "Happy Friday everyone :sunny:",
    "Welcome to our new colleagues!",
    "So proud of this team :muscle:",
    "What a great event, see you at the next one :raised_hands:",
    "Photos from the team lunch are up :camera:",
)
FILES: tuple[str, ...] = (
    "Here is the updated checklist.",
    "Sharing the slides from today.",
    "Attached the shift report.",
    "Latest version of the procedure.",
    "Photo of the issue on the line.",
)
FILE_NAMES: tuple[tuple[str, str, str], ...] = (
    ("checklist.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("slides.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    ("shift_report.pdf", "application/pdf", "pdf"),
    ("procedure.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("photo.jpg", "image/jpeg", "jpg"),
)
CATEGORIES: tuple[str, ...] = ("statement", "plain", "question", "answer", "ack", "idea", "busy", "file")

_POOLS: dict[str, tuple[str, ...]] = {
    "statement": STATEMENTS, "plain": STATEMENTS, "question": QUESTIONS, "answer": ANSWERS, "ack": ACKS,
    "idea": IDEAS, "busy": BUSY, "file": FILES,
}


def compose(category: np.ndarray, mention: pl.Series, rng: np.random.Generator,
            multiline_share: float = 0.08) -> pl.Series:
    """Texts for ``category`` (index into CATEGORIES per row); ``mention`` is '' or a mention token.

    A share of statements, plain posts, answers and busy posts get a second line (a statement
    without hashtag), so bodies can be multi-line.
    """
    n = len(category)
    pools = [_POOLS[c] for c in CATEGORIES]
    sizes = np.asarray([len(p) for p in pools])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    every = pl.Series([s for p in pools for s in p], dtype=pl.Utf8)
    base = every.gather(offsets[category] + (rng.random(n) * sizes[category]).astype(np.int64))
    u = rng.random((n, 3))
    tags = pl.Series(TOPIC_TAGS, dtype=pl.Utf8).gather(rng.integers(len(TOPIC_TAGS), size=n))
    second = pl.Series(STATEMENTS, dtype=pl.Utf8).gather(rng.integers(len(STATEMENTS), size=n))
    cat = pl.col("cat")
    frame = pl.DataFrame({"cat": category, "base": base, "mention": mention, "tag": tags, "second": second,
                          "u0": u[:, 0], "u1": u[:, 1], "u2": u[:, 2]})
    text = (
        pl.when(cat == CATEGORIES.index("statement")).then(
            pl.when(pl.col("u0") < 0.25).then(pl.col("base") + " " + pl.col("tag")).otherwise(pl.col("base")))
        .when(cat == CATEGORIES.index("idea")).then(
            pl.when(pl.col("u0") < 0.5).then("#idea " + pl.col("base"))
            .when(pl.col("u0") < 0.75).then(pl.col("base") + " #Idea")
            .otherwise("Small #idea: " + pl.col("base")))
        .otherwise(pl.col("base"))
    )
    with_mention = pl.when(pl.col("mention") != "").then(
        pl.when(pl.col("u1") < 0.5).then(pl.col("mention") + " " + text).otherwise(text + " cc " + pl.col("mention"))
    ).otherwise(text)
    two_lines = [CATEGORIES.index(c) for c in ("statement", "plain", "answer", "busy")]
    multiline = cat.is_in(two_lines) & (pl.col("u2") < multiline_share)
    final = pl.when(multiline).then(with_mention + "\n" + pl.col("second")).otherwise(with_mention)
    return frame.select(final.alias("text"))["text"]
