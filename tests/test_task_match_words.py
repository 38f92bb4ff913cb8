"""What the task matcher reads besides embeddings: cores without politeness, concepts, objects named."""

import pytest

from robolang.task_match_objects import ObjectReader
from robolang.task_match_words import concepts, contradicts, core, normalise
from robolang.testing.scene_states import PLAY_TABLE

VERBS = frozenset({"put", "place", "pick", "open", "stick", "lift", "get", "move"})


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("Could you please open the drawer for me, thanks?", "open the drawer"),
        ("ok so would you mind putting the red cube on the plate", "put the red cube on the plate"),
        ("could you pick the red block up off the table", "pick the red block up"),
        ("I'd like you to just move the plate a little bit", "move the plate"),
        ("put it back on the table, please", "put it back down"),
        ("please", "please"),  # nothing would be left: the text itself
    ],
)
def test_cores_drop_politeness_fillers_and_the_table_as_a_place(said, meant):
    assert core(said, VERBS) == meant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("put the red cube on top of the green one", {"TOP"}),
        ("put the red cube right next to the blue bar", {"NEXT"}),  # "right" only intensifies
        ("move it to the right side of the table", {"RIGHT", "SIDE"}),
        ("move it to the far side of the table", {"FAR"}),
        ("put it in front of the plate", {"FRONT_OF", "PLATE"}),
        ("bring it to the front of the table", {"NEAR"}),
        ("pull it back towards you", {"NEAR"}),
        ("set it back down", {"DOWN"}),
        ("turn the bar counter-clockwise", {"CCW"}),
        ("make the light go dark", {"LIGHT", "OFF"}),
        ("the cube shouldn't be on the plate anymore", {"NOT", "ON", "PLATE"}),
        ("lift the cube a little bit", {"UP"}),  # "a little bit" is no size
        ("get the small block out of the drawer", {"SMALL", "OUT", "DRAWER"}),
    ],
)
def test_concepts_an_embedding_blurs_are_read_from_the_words(text, expected):
    assert concepts(text) == expected


def test_opposite_poles_contradict_and_unrelated_ones_do_not():
    assert contradicts(concepts("switch the light off"), concepts("turn the lamp on"))
    assert contradicts(concepts("take it from the drawer"), concepts("put it in the drawer"))
    assert not contradicts(concepts("switch the light off"), concepts("flick the lamp off"))
    assert not contradicts(concepts("open the drawer"), concepts("pull the drawer"))


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("put the little red cube on top of the big green one", ("red_cube", "green_cube")),
        ("remove the small block from on top of the big block", ("red_cube", "green_cube")),
        ("the large object goes behind the small red box", ("green_cube", "red_cube")),
        ("get a firm grip on the yellow can", ("yellow_cylinder",)),  # a colour alone names its object
        ("set the cylinder down beside the green cube", ("yellow_cylinder", "green_cube")),
        ("stick the yellow cylinder inside the drawer", ("yellow_cylinder",)),  # "stick" is the verb here
        ("put the long thing on the plate", ("blue_bar", "plate")),
        ("lift the block", ()),  # three objects are blocks: it names none
    ],
)
def test_objects_are_named_by_the_grammar_s_own_descriptions_or_their_colour(text, order):
    assert ObjectReader(PLAY_TABLE, VERBS).read(normalise(text).split()).order == order
