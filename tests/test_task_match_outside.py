"""The task matcher on words nobody in the project wrote: a regression floor, stated honestly.

``tests/data/outside_instructions.jsonl`` (240 instructions) was written by someone who had seen
only the scene and the task list, and is frozen: it measures, it never tunes. The matcher was
improved on its own development sets and the grammar's held-out phrasings, then measured on it
once: first 190 of 240 right (79.2%), 39 unjudged, 11 wrong (4.6%; before that 115 right and 38
wrong); after the general-English rules fitted to a second development set (dev2, 160
instructions by someone who never saw the grammar), 197 right (82.1%), 32 unjudged, 11 wrong
(4.6%), with dev 68/0/0 and dev2 157/3/0 (right/unjudged/wrong). The targets (>= 90% right,
<= 2% wrong) are not met yet: 7 of the 11 wrong are meant as move_plate. After the plate rules
fitted to a third development set (dev3, 150 instructions, 35 moving the plate, written before
its author read the grammar: 124/9/17 -> 143/7/0, dev and dev2 unchanged), measured once: 198
right (82.5%), 30 unjudged, 12 wrong (5.0%); all 8 move_plate lines wrong (0 right before and
after), although dev3's plate moves are now judged move_plate with no objects. The floors were
left as they were (wrong went up, so they are not raised; they are never lowered), so the outside
floor failed by one wrong. That was the judge: the outside set labels its plate moves
``move_plate`` with the objects ``[plate]`` (only the labels' arguments were read to find it), and
``move_plate`` takes no objects, so no answer could be right; ``task_match_eval.expected_args``
now reads a slot-less task's own entity as no objects. Measured after that: 206 right (85.8%),
30 unjudged, 4 wrong (1.7%). A fourth development set (dev4, 200 instructions by a helper given
only the scene and the task list, 2026-12-05: 180/18/2 on arrival) gave shorthand ("outta"), a
trailing "keeping it on the table" read as "without lifting it", "end up" read as "be", and an
arrow as "to" (184/15/1); measured once after: outside 207 right (86.3%), 29 unjudged, 4 wrong.
A fifth (dev5, 202 by another such helper: 176/21/5 on arrival -> 188/13/1) gave purpose clauses
("..., so I can see inside") and a leading "without lifting it, ..." dropped, "by sliding it" read
as how, regions named by nearness ("the part nearest you") or "all the way to the left", "in
here" / "in place" as no inside, "it's dark" and "some light" as wanting it on, "the rear" as the
back, "area" / "zone" as regions, the table without its article; outside measured after them:
211, then 212 after a unit test's fix (a preposition before such a region read as "in"); after
"in your direction", swapped letters, the rules' own words never mended and "off the plate and on
the table", measured once by `robolang bench ask`: 213 right (88.8%), 23 unjudged, 4 wrong.
A sixth (dev6, 200 by a third such helper, 2026-12-05: 190/7/3 on arrival -> 197/1/2) gave a fixture's
handle read as the fixture, a cabinet named by its lamp as only which cabinet, holding a fixture and then
moving it as the move, a press said by its effect, words run together split, "by you" as the robot's side,
and "in the left third" as at a region, not inside; measured once by `robolang bench ask`: 214 right
(89.2%), 23 unjudged, 3 wrong (1.2%).
A seventh (dev7, 200 by a fourth such helper, 2026-12-05: 187/10/3 on arrival -> 197/2/1) gave distances in
numbers read as a bit, slips that make another real word ("turn of the lamp", "next too", "take it of the
plate"), "in the plate" as on it, "held in your fingers" as grasped, "to back of table" with its articles,
"lite" as shorthand, "right alongside" as alongside, and a bare name before an arrow as moving it; then
"with your fingers" as how, "catch" / "tuck" as grab / put, "down off" as off and "lying down instead of
standing" as knocked over (from dev4 and dev5's leftovers); measured once by `robolang bench ask`: 215 right
(89.6%), 22 unjudged, 3 wrong (1.2%).
An eighth (dev8, 200 by a fifth helper asked for a varied crowd: non-native, slang, reasons given; 166/28/6 on
arrival -> 182/15/3) gave reasons after a comma or "so it won't ..." dropped (not "so it's beside X": that is
what), "against the clock direction", "in direction of", "robot" without its article, "not lift it",
"by the handle", "snag", "take down", "from the top of", "hanging in the air", "..., by the cabinet" after the
back of the table, "once" / "would you" at the end, "a smidge", "lil", "w/"; measured once after: outside
unchanged (215 / 22 / 3).
Then, of several sentences, the only request judged alone (dev8 183/14/3; outside unchanged).
A ninth (dev9, 200 by a sixth helper asked for dictation, lab notes, indirect requests, children and formal
users; 128/63/9 on arrival -> 173/24/3) gave a lab notebook's abbreviations and left-out articles, speech
heard as other words, "don't lift it" / "no lift" / "slide only", "in the same spot", "like a clock", a
viewpoint or the means of a switch as saying no more, "X is too far right, ..." as what is wrong, "to the
drawer" as into it, "the bar that's in the drawer" as taking it out, "it's too dark in here" as the light
on; measured once after: 216 / 21 / 3 (90.0%).
These floors only keep it from getting worse.
Slow: the full table (~8,600 phrasings) is embedded once (minutes on 2 cores).
"""

import hashlib

import pytest

from robolang import task_match_eval as evaluation
from robolang.testing.scene_states import PLAY_TABLE

pytestmark = pytest.mark.slow
FROZEN_SHA256 = (
    "2a5594c5b6077e06edf5392fc58693dbf47485c4fcc59e89305174c3008655f7"  # the file as it came from its author
)
FLOORS = {  # right >=, wrong <=
    "outside": (evaluation.OUTSIDE, 216, 3),
    "dev": (evaluation.DEV, 68, 0),
    "dev2": (evaluation.DEV2, 158, 0),
    "dev3": (evaluation.DEV3, 143, 0),
    "dev4": (evaluation.DEV4, 191, 0),
    "dev5": (evaluation.DEV5, 196, 1),
    "dev6": (evaluation.DEV6, 197, 2),
    "dev7": (evaluation.DEV7, 198, 1),
    "dev8": (evaluation.DEV8, 183, 3),
    "dev9": (evaluation.DEV9, 173, 3),
}


@pytest.fixture(scope="module")
def matcher(tmp_path_factory):
    return evaluation.matcher_for(PLAY_TABLE, cache_dir=tmp_path_factory.mktemp("matcher"))


def test_the_outside_set_is_unchanged():
    assert hashlib.sha256(evaluation.OUTSIDE.read_bytes()).hexdigest() == FROZEN_SHA256


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_matcher_does_not_fall_below_its_measured_floor(matcher, name):
    path, right, wrong = FLOORS[name]
    outcomes = evaluation.measure(matcher, evaluation.load(path))
    counts = {v: sum(o.verdict == v for o in outcomes) for v in evaluation.VERDICTS}
    assert counts["right"] >= right and counts["wrong"] <= wrong, counts
