"""What the task matcher reads in an instruction besides its embedding: the words a person
wraps a request in, and the few meanings a sentence embedding blurs.

``core`` strips what carries no task: politeness frames ("could you ...", "... for me,
please"), fillers ("just", "a bit"), the table as a place ("off the table") and clauses that
say what *not* to do ("..., without lifting it", "..., no need to lift it"); it spells out
texting shorthand ("pls", "u"), says idioms in the grammar's words ("let go of" -> "release",
"give it a shove" -> "shove it", "lights out" -> "light off") and turns gerunds of known verbs
back into imperatives ("would you mind putting" -> "put"). Both the instruction and every
phrasing of the matcher's table are compared in this form too. ``correct`` mends typos of the
table's words ("drawr" -> "drawer") in words the encoder does not know.

``concepts`` names the meanings a sentence embedding places close together although the task
flips on them (measured: "turn the light on" / "off" 0.84; "the right side of the table" /
"the far side" 0.93): directions, spatial relations, landmarks, comparatives ("closer",
"further left": a move by some amount, not to a region), and poles (on/off, open/close,
up/down, in/out, small/big). The words are general English for these meanings and the
grammar's own direction phrases (``grammar_vocab.ALTERNATIVES``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import product

# Directions and regions of the table, as the robot sees them (left = +y, far = away from it).
DIRECTIONS = ("LEFT", "RIGHT", "FAR", "NEAR", "CW", "CCW", "SIDE")  # SIDE: a region ("the left half")
# NOT: "X should not be on the plate"; MORE: a comparative ("closer", "a bit further left").
RELATIONS = ("TOP", "UNDER", "NEXT", "FRONT_OF", "BEHIND", "NOT", "MORE")
LANDMARKS = ("PLATE", "DRAWER", "DOOR", "LIGHT", "BUTTON")
# An instruction names these only when it means them: a phrasing may not add one, and a task
# must be able to express each one the instruction names.
SPECIFIC = frozenset(DIRECTIONS + RELATIONS + LANDMARKS)
SIZES = frozenset({"SMALL", "BIG"})
# Poles: a phrasing holding only the other pole of a pair the instruction holds one of is out,
# and a task must be able to express each pole the instruction names ("make the light go dark"
# is no press of the button, "put it into the drawer" no putting down).
POLES = (
    ("ON", "OFF"),
    ("OPEN", "CLOSE"),
    ("UP", "DOWN"),
    ("IN", "OUT"),
    ("SMALL", "BIG"),
    ("ON", "FROM"),
    ("IN", "FROM"),
)
POLAR = frozenset(c for pair in POLES for c in pair)
# What says how a thing should move or end up: an instruction whose first word is no verb of the
# grammar must name one of these or a word of its task's phrasings ("wipe the plate" asks for
# no task the plate is in; "stand the can on the plate" does: ON).
ACTIONS = frozenset(DIRECTIONS + RELATIONS) | (POLAR - SIZES)
# What a phrasing may not add to an instruction: "grab it and lift it" is no match for "grab it"
# (sizes it may add: "the small red cube" is the red cube).
ADDS_NOTHING = SPECIFIC | ACTIONS

_W = r"(?<![\w'])"  # a word starts here
_E = r"(?![\w'])"  # a word ends here
_REGION_NOUN = r"(?:side|half|part|edge|section|area|zone|region|portion|third)"
_YOU = r"(?:you|yourself|me|the robot|your base|the robot's base|the base)"
_REGION = r"(?: (?:half|part|edge|section|area|zone|region|portion|third))?(?: of the table)?"
_DEGREE = r"(?:a bit |a little |quite |very |so |rather |kind of |pretty )?"
# (pattern, concepts or None): applied in order, each match replaced by a marker so that later
# patterns do not read it again ("right next to" is NEXT, not RIGHT; "the front of the table"
# is NEAR, "in front of" FRONT_OF). None: an intensifier, removed. Several concepts: spaced.
PATTERNS: tuple[tuple[str, str | None], ...] = (
    (
        r"right(?= (?:next|in front|behind|beside|alongside|by|near|close|under|underneath|below|above|there|here|now"
        r"|away|on top|up against|against))",
        None,
    ),
    (r"(?:the|that|this|an?) (?:open|opened|closed|shut|lit)(?= \w)", None),  # a state named, not asked for
    (r"(?:as )?(?:seen|viewed|looking|looked at) from (?:above|the top|overhead)|from above", None),  # a viewpoint
    # Somewhere else, or in the way: no inside of anything.
    (r"in (?:a|another) (?:different |new |other )?(?:place|spot|position|location)|in (?:the|my|your|our) way", None),
    (r"(?:some|more|a little|a bit of) light", "LIGHT ON"),  # light as illumination: wanted on
    (r"(?:in|over|out) here", None),  # where the speaker is, not a place in the scene
    (
        r"in place|on the spot|where it (?:is|stands|sits)|(?:in|on|at) the same (?:spot|place|position|location)"
        r"|(?:with )?(?:its |the )?pos(?:ition)? (?:fixed|unchanged)",
        None,
    ),  # stays where it is: no inside
    (r"with (?:the|your|its|my) (?:fingers|gripper|grippers|hand|claw)", None),  # how to hold: always so
    # What is wrong, not what is wanted: "it's a bit dark" asks for the light on.
    (rf"too dark|(?:it's|it is|its) {_DEGREE}dark|(?:can't|cannot|can not) see", "ON"),
    (rf"too bright|(?:it's|it is|its) {_DEGREE}bright", "OFF"),
    (r"counter ?-?clockwise|anti ?-?clockwise|ccw", "CCW"),
    (r"clockwise|cw", "CW"),
    (r"on (?:the )?top of|atop|on top", "TOP"),
    (rf"between {_YOU} and", "FRONT_OF"),
    (rf"in front of(?! {_YOU})", "FRONT_OF"),
    (r"behind|in back of|beyond", "BEHIND"),
    (r"under|underneath|beneath|below", "UNDER"),
    (
        rf"(?:on|to|at) your side|(?:on|to|at) the side(?: of the table)? (?:nearest|nearer|closest|closer|near|facing) (?:to )?{_YOU}",
        "NEAR",
    ),
    (rf"(?:on|to|at) the side(?: of the table)? (?:away|farthest|furthest|far) from {_YOU}", "FAR"),
    # A region named by how near it is: "the part of the table nearest you" is the front.
    (
        rf"(?:(?:to|at|on|in|into|towards?|near|by|along) )?(?:the )?{_REGION_NOUN}(?: of the table)? (?:nearest|closest|nearer|closer) (?:to )?{_YOU}",
        "NEAR SIDE",
    ),
    (
        rf"(?:(?:to|at|on|in|into|towards?|near|by|along) )?(?:the )?{_REGION_NOUN}(?: of the table)? (?:farthest|furthest|farther|further) (?:away )?from {_YOU}",
        "FAR SIDE",
    ),
    (r"all the way (?:over )?(?:to )?(?:the |your )?left", "LEFT SIDE"),  # as far as it goes: the region
    (r"all the way (?:over )?(?:to )?(?:the |your )?right", "RIGHT SIDE"),
    (rf"(?:to|at|on|in|towards?|near|by|along) the (?:front|near (?:side|end|edge)){_REGION}", "NEAR SIDE"),
    (rf"(?:to|at|on|in|towards?|near|by|along) the (?:back|rear|far (?:side|end|edge)){_REGION}", "FAR SIDE"),
    # In a region of the table is at it, not inside anything: "in the left third", "into the right half".
    (rf"(?:in|into|inside) the left(?: hand)? {_REGION_NOUN}(?: of the table)?", "LEFT SIDE"),
    (rf"(?:in|into|inside) the right(?: hand)? {_REGION_NOUN}(?: of the table)?", "RIGHT SIDE"),
    (rf"(?:back )?in (?:your|my|the robot's) direction|(?:back )?in the direction of {_YOU}", "NEAR"),
    (rf"(?:back )?(?:closer|nearer) (?:to|towards?) {_YOU}", "NEAR MORE"),
    (rf"(?:farther|further) (?:away )?from {_YOU}|(?:farther|further) away", "FAR MORE"),
    (rf"(?:back )?(?:towards?|to|near|close to|in front of|by|beside|next to) {_YOU}", "NEAR"),
    (rf"(?:far|away) from {_YOU}", "FAR"),
    (r"(?:further|farther|more)(?= (?:over )?(?:to (?:the|your) )?(?:left|right))", "MORE"),
    (r"closer|nearer", "NEAR MORE"),
    (r"backwards?|back(?! (?:down|in|into|on|onto|out|of|up|where|to the table))", "NEAR"),
    (r"farther|further", "FAR MORE"),
    (r"forwards?|ahead|far side|far end", "FAR"),
    (r"next to|beside|besides|alongside|side by side|adjacent to|close to|near|nearby|by the side of", "NEXT"),
    (r"(?:up )?against|by(?= (?:the|that|this) )", "NEXT"),
    (
        rf"{_REGION_NOUN}(?: of the table)?|end of the table|(?<=left )end|(?<=right )end",
        "SIDE",
    ),
    (r"not|\w+n't|cannot|no longer|anymore|any more|never", "NOT"),
    (r"(?:on|at) (?:the|your) left(?! of)", "LEFT SIDE"),  # where it is: a region ("put it on the left")
    (r"(?:on|at) (?:the|your) right(?! of)", "RIGHT SIDE"),
    (r"left(?:wards?|ways?|most)?", "LEFT"),
    (r"right(?:wards?|ways?|most)?", "RIGHT"),
    (r"plates?|dish|dishes|platter|saucer", "PLATE"),
    (r"drawers?", "DRAWER"),
    (r"doors?|slider|sliding panel|cupboard(?: door)?", "DOOR"),
    (r"lights?|lamps?|bulbs?", "LIGHT"),
    (r"buttons?", "BUTTON"),
    (r"on|onto|bright|brighter|brighten|illuminate|lit|alight", "ON"),
    (r"off|dark|darker|darken|dim", "OFF"),
    (r"open|opened|opening", "OPEN"),
    (r"close|closed|shut", "CLOSE"),
    (r"up|lift|raise|hoist|elevate", "UP"),
    (r"down|lower", "DOWN"),
    (r"in|into|inside", "IN"),
    (r"out", "OUT"),
    (r"from", "FROM"),
    # Sizes; "tall" and "short" are heights, which the grammar never compares.
    (r"small|smaller|smallest|little|tiny", "SMALL"),
    (r"big|bigger|biggest|large|larger|largest|huge", "BIG"),
)
_COMPILED = tuple((re.compile(_W + f"(?:{p})" + _E), c) for p, c in PATTERNS)

# Template words that say nothing of the action ("I want {x} ...", "{x} should be ...").
_NO_ACTION = frozenset(
    {"i", "want", "should", "be", "to", "the", "of", "goes", "go", "needs", "need", "a", "an", "belongs", "belong"}
    | {"your", "you", "it", "its", "it's", "and", "have", "make", "sure", "ends", "come", "just", "bit", "little"}
    | {"with", "here", "too", "table", "shouldn't", "doesn't", "don't", "give", "at"}
)
# Places the scene has or the patterns read, beside every word of the matcher's table.
PLACE_WORDS = frozenset(
    {"table", "tabletop", "surface", "robot", "edge", "end", "front", "back", "side", "half", "part", "section"}
    | {"portion", "third", "area", "left", "right", "top", "air", "hand", "gripper", "zone", "region", "rear"}
    | {"base", "direction", "body"}  # "towards your base", "in your direction": the robot's side
)
_PREPOSITIONS = r"on|onto|in|into|inside|at|to|towards?|under|across|from|off|near|by|behind|beside|over|against"
_PLACE = re.compile(
    _W + rf"(?:{_PREPOSITIONS}) (?:the|a|an|your|my|that|this|some) ((?:(?!(?:{_PREPOSITIONS}|of|next|and|then)"
    r"(?![\w']))[\w']+ ?){1,3})"
)

# Texting shorthand, word for word.
SHORTHAND = {"u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks", "thnx": "thanks"} | {
    "outta": "out of", "gonna": "going to", "wanna": "want to", "gotta": "have to", "lemme": "let me",
    "gimme": "give me", "ya": "you", "thru": "through",
    "infront": "in front", "ontop": "on top", "nextto": "next to",  # two words run together
    "lite": "light", "lil": "little", "urself": "yourself", "w": "with",
    # A lab notebook's abbreviations: "slide grn cube ~5cm L", "rot cyl CW", "fwd push".
    "cyl": "cylinder", "grn": "green", "obj": "object", "fwd": "forward", "rot": "rotate", "approx": "about",
    "adj": "adjacent", "l": "left", "r": "right", "dont": "don't",
}  # fmt: skip
_MANNER = r"(?:(?:little|small|gentle|light|slight|quick|short|firm|good|hard|careful) )?"
_TURN = r"(?:clockwise|counter clockwise|counterclockwise|anti clockwise|anticlockwise)"
_DISH = r"(?:plate|dish|platter|saucer)"  # the plate's names, in the idioms below
_HAND = r"(?:fingers|gripper|grippers|hand|claws?|jaws)"
_NAMED = r"(?= (?:the|that|this|a|an|it)\b)"  # a verb followed by what it acts on
_ADJECTIVE = r"(?:red|green|blue|yellow|white|small|big|little|large|long)"
_ABOUT = r"(?:(?:by|about|around|roughly|some|like|approximately) )*"  # before a number: "by about 5 cm"
# The names of things (of this scene and common ones), for the articles terse notes leave out; after a
# preposition also those that are verbs too ("switch on light"), never after a first word ("please switch").
_NOUN = (
    r"(?:cubes?|box|block|brick|bars?|stick|beam|rod|cylinders?|tube|canister|plates?|dish|drawers?|doors?"
    r"|lamps?|buttons?|object|thing|item|piece)"
)
_THING = rf"(?:{_NOUN}|can|lights?|switch|table|robot|base)"
# Idioms said in the grammar's words (general English): (pattern, replacement).
IDIOMS: tuple[tuple[str, str], ...] = (
    (r"let go of", "release"),
    # How far, in numbers, is only a bit: "shift the plate over a few centimeters", "push it 5cm left".
    (
        rf"{_ABOUT}(?:a few|a couple(?: of)?|several|\d+(?:\.\d+)?|one|two|three|four|five"
        r"|six|seven|eight|nine|ten) ?(?:centimet(?:er|re)s?|cms?|inch(?:es)?|millimet(?:er|re)s?|mm)",
        "",
    ),
    # How far to turn, in numbers, likewise: "rotate it 90 degrees", "90deg" (a turn is judged from 30).
    (
        rf"{_ABOUT}\d+ ?(?:degrees?|degs?)",
        "",
    ),
    # Slips that make another real word: "turn of the lamp", "next too", "take the bar of the plate".
    (r"(turn|switch|shut|flip|flick|put) of(?= (?:the |that |your )?(?:\w+ )?(?:lamps?|lights?|bulb)\b)", r"\1 off"),
    (r"(next|close|up|right) too", r"\1 to"),
    (
        r"(take|get|lift|pick|remove|grab|pull|slide)( up)? ((?:the|that|this|your|my|a|an) (?:(?!(?:off|out|from|top|of)\b)"
        rf"\w+ ){{0,3}}?(?!(?:off|out|from|top|of)\b)\w+) of (the (?:\w+ )?{_DISH})",
        r"\1\2 \3 off \4",
    ),
    # A plate holds nothing inside: "in the plate" is on it.
    (rf"in(?:to)? (the (?:\w+ )?{_DISH})", r"on \1"),
    # Held by the hand is grasped: "I want the cube held between your fingers".
    (rf"held (?:securely |firmly |tightly )?(?:between|in|by|with) (?:your|the|its|my) {_HAND}", "grasped"),
    # Hanging in the air is up: "I want the cube hanging in the air".
    (r"(?:hanging|dangling|suspended|floating|hovering) (?:up )?in (?:the )?(?:air|midair)", "up in the air"),
    # The clock's way: "against the clock direction", "in clock direction".
    (r"(?:against|opposite) (?:the )?clock(?: direction| sense|wise)?", "counterclockwise"),
    (r"(?:in|with) (?:the )?clock (?:direction|sense)", "clockwise"),
    (r"clock ?wise|like (?:a|the) clock(?:'s hands?)?", "clockwise"),  # "turn it clock wise", "spin it like a clock"
    (r"in (?:the )?direction of", "towards"),  # "push it in direction of the robot"
    # Articles left out: "to robot", "from plate", "off table", "toward base".
    (rf"(to|towards?|from|by|near|at|on|onto|in|into|off|of|behind|beside) ({_THING})", r"\1 the \2"),
    # Said aloud, heard as another word: "to the write", "two the right".
    (r"(the|your) write|write(?= (?:side|third|half|hand|of))", r"\1 right"),
    (r"two(?= (?:the|your) )", "to"),
    # Where it is looked at from is no place: "..., from your point of view", "from where you stand".
    (r"(?:from|in) (?:your|the robot's|my) (?:point of view|perspective|pov|view)|from where you (?:stand|are)", ""),
    # The means of a switch is no press of it: "switch the lamp on via the button".
    (r"(?:via|using|with|through|by pressing|by pushing) (?:the )?(?:button|switch)", ""),
    # A bare name after the verb gets its article back: "release cylinder onto table", "move cylinder to plate".
    (
        rf"^(?!(?:the|a|an|that|this|your|my|its|{_ADJECTIVE})\b)(\w+) (?!(?:the|a|an|that|this|it|your|my|its)\b)"
        rf"((?:{_ADJECTIVE} )?{_NOUN})",
        r"\1 the \2",
    ),
    (r"up to(?= the (?:front|back|near|far|left|right|side|edge|end)\b)", "to"),  # "bring it up to the front"
    # To the drawer is into it: "move the cube to the drawer".
    (r"(move|put|bring|carry|transfer|place|drop|get) ((?:\w+ ){0,4}?\w+) to (the (?:\w+ )?drawer)", r"\1 \2 into \3"),
    # Asked for by where it is: "I need the bar that's in the drawer" is taking it out.
    (
        r"(?:i need|i want|give me|bring me|get me|hand me|pass me|fetch me) (the (?:\w+ ){0,2}?\w+) "
        r"(?:that's|that is|thats|which is|which's) (?:in|inside) (the (?:\w+ )?drawer)",
        r"take \1 out of \2",
    ),
    # Only what is wrong with the room: "it's too dark in here" asks for the light.
    (
        r"^(?:it's|it is|its) (?:a bit |rather |very |so |quite |way )?too (?:dark|dim)(?: in here)?$",
        "turn on the light",
    ),
    (r"^(?:it's|it is|its) (?:a bit |rather |very |so |quite |way )?too bright(?: in here)?$", "turn off the light"),
    (r",? not lift(?:ing)? (?:it|them)", " without lifting it"),  # "push it right, not lift it"
    (r"by (?:the|its) (?:handle|knob|grip)(?! of)", ""),  # "yank the drawer out by the handle": where it is held
    (r"(?:snag|catch)" + _NAMED, "grab"),  # catching a thing that lies still is grabbing it
    (r"tuck" + _NAMED, "put"),  # "tuck the cube behind the bar"
    (r"take down" + _NAMED, "take"),
    (r"from(?= the top of)", "off"),  # "take the bar from the top of the cube"
    # The far end of the table is where the cabinet is: "at the back of the table, near the cabinet" says no more.
    (
        r"((?:back|rear|far (?:end|side|edge|third|part)|far)(?: of the table)?),? (?:by|near|next to|close to|towards?) "
        r"the (?:cabinets?|cupboards?|wall)",
        r"\1",
    ),
    # Terse: "to back of table" is to the back of the table.
    (r"of table", "of the table"),
    (
        r"(to|at|toward|towards|into|onto|in) (back|front|rear|far|near|left|right)"
        r"(?= (?:\w+ )?of the table| (?:third|half|side|part|edge|end|section|area)\b)",
        r"\1 the \2",
    ),
    # A fixture's handle is where the fixture is taken hold of; a cabinet described by its lamp is
    # only which cabinet: "the drawer handle", "the door of the lamp cabinet" are the drawer and the door.
    (r"(door|drawer)(?:'s)? (?:handle|knob|grip)", r"\1"),
    (r"(?:(?:the|its|that) )?(?:handle|knob) (?:of|on) (the (?:\w+ )?(?:door|drawer))", r"\1"),
    (
        r"(door|drawer) (?:on|of|in|at) the (?:(?:lamps?|lights?) )?(?:cabinet|cupboard|unit|box)"
        r"(?: (?:with|under|below|beneath) the (?:lamps?|lights?)(?: on (?:it|top))?)?",
        r"\1",
    ),
    (r"(?:lamps?|lights?) (?:cabinet|cupboard|unit)(?:'s)? (door|drawer)", r"\1"),
    (r"(pull|tug|yank) on(?= (?:the|its|that|this) )", r"\1"),  # "pull on the drawer": pull it
    # Taking hold of a fixture first only prepares moving it: "grab the door and slide it left".
    (
        r"(?:grab|grasp|hold|take|seize|get|catch) (?:hold of |onto )?((?:the |that |its )?(?:\w+ )?(?:door|drawer)) "
        r"(?:and then|and|then) (slide|pull|push|open|close|shut|move|drag) it",
        r"\2 \1",
    ),
    # A press said by what it should do to the light: "press the button so the lamp goes off".
    (
        r"(?:press|push|hit|tap|poke|click) (?:the |that )?(?:\w+ )?(?:button|switch)(?: once)? so (?:that )?(?:the )?"
        r"(?:lights?|lamps?) (?:(?:will )?(?:go|turn|come|switch|get)(?:e?s)?|is|are|will be) (on|off)",
        r"turn \1 the light",
    ),
    (r"(?:grab|catch|get|take|keep|gain) (?:a )?(?:firm |good |tight |secure |proper )?hold (?:of|on)", "grasp"),
    (rf"with (?:your|the|its|my) {_HAND}", ""),  # with the hand is how any of them is done
    (r"down off", "off"),  # "get the cube down off the big one"
    # Lying instead of standing is knocked over: "I want the cylinder lying down instead of standing".
    (
        r"(?:lying|laying|lie|lay)(?: down| flat| on (?:its|it's) side)? instead of (?:standing|upright)(?: up)?",
        "knocked over",
    ),
    (r"(?:get|take|have|keep) an? (?:firm |good |tight |secure |proper )?(?:grip|grasp) (?:on|of)", "grip"),
    (
        rf"(?:clamp|close|wrap|put|get|lock|tighten|clasp) (?:(?:your|the|its) )?{_HAND} "
        r"(?:on|onto|around|round|over|about)",
        "grasp",
    ),
    (
        rf"give ((?:\w+ ){{0,4}}?\w+) an? {_MANNER}({_TURN} )?"
        r"(push|shove|nudge|twist|spin|turn|press|tap|poke|tug|pull|lift)",
        r"\3 \1 \2",
    ),
    (rf"(?:the |your )?{_HAND} (?:should be |is |to be )?closed (?:on|onto|around|round|over|about)", "grasp"),
    (r"(?:lights?|lamps?) out", "light off"),
    (r"(?:turn|put|blow) out (the (?:lights?|lamps?))", r"turn off \1"),
    (r"(?:turn|put) (the (?:lights?|lamps?)) out", r"turn \1 off"),
    (r"knock ((?:\w+ ){0,4}?)down", r"knock \1over"),
    (r"(lay|put|set|tip|turn) ((?:\w+ ){0,4}?\w+) down on (its|their) side", r"\1 \2 on \3 side"),
    # A push so that it falls is a topple; out of the way is somewhere else.
    (
        r"(?:push|shove|nudge|knock|tip|tilt|bump|hit|tap|poke|flick) ((?:\w+ ){0,4}?\w+) so (?:that )?it "
        r"(?:falls|topples|tips|goes) (?:over|down)",
        r"knock \1 over",
    ),
    (r"make ((?:\w+ ){0,4}?\w+) (?:fall|topple|tip) (?:over|down)", r"knock \1 over"),
    (r"out of (?:the|your|my|our) way", "somewhere else"),
    # Pushed off the table is over its edge, not up ("off the table" alone is up: "lift it off the table").
    (
        r"(push|slide|shove|knock|nudge|roll|sweep|drag|scoot|tip) ((?:\w+ ){0,4}?)off (?:of )?the (?:table|tabletop|surface)",
        r"\1 \2off the end",
    ),
    # Off the plate (out of the drawer) and onto the table is taking it off (out): the table adds nothing.
    (
        r"(?:pick up|pick|grab|take|get|lift|pull|remove|fetch|grasp) ((?:\w+ ){0,4}?\w+)(?: up)? "
        rf"(off (?:of )?|out of |from )((?:the )?(?:\w+ )?(?:{_DISH}|drawer)) (?:and then|and|then) "
        r"(?:put|place|set|lay|leave|drop|rest|stand)(?: it)?(?: back)?(?: down)? on (?:the )?table(?: instead)?",
        r"take \1 \2\3",
    ),
    # Picking up first only prepares the placing: "pick up X and put it on the plate".
    (
        r"(?:pick up|pick|grab|take|get|grasp|seize|lift|fetch) ((?:\w+ ){0,4}?\w+)(?: up)? (?:and then|and|then) "
        r"(put|place|set|drop|move|stack|bring|carry|stick|lay|stash|store|tuck|lower|balance|rest|stand) it",
        r"\2 \1",
    ),
    (r"i(?:'d| would) (?:like|love)(?! (?:you|to) )", "i want"),
    (r"the rear", "the back"),  # of the table: the far side
    # Where a thing ends up is where it is, not up: "the bar should end up behind the cube".
    (r"(?:end|ends|ended|ending|wind|winds|winding|wound) up", "be"),
)
_IDIOMS = tuple((re.compile(_W + p + _E), r) for p, r in IDIOMS)
# Every word these rules read is a real word: typo repair never mends one into another
# ("clamp", which the encoder splits into pieces, is no "lamp").
RULE_WORDS = frozenset(w for source, _ in (*PATTERNS, *IDIOMS) for w in re.findall(r"(?<![\\?])\b[a-z]{3,}\b", source))
# Clauses saying what not to do, up to the end of their clause: "..., without lifting it",
# "..., no need to lift it", "... but don't lift it", "put the red one there, not the green one".
# A trailing clause of what to keep as it is says no more than "without lifting it": "..., keeping it
# on the table", "... and leave it sitting there".
_NOT_CLAUSE = re.compile(
    r"(?:(?:,\s*|\s+)(?:without \w+ing|(?:there's |there is )?no need to|(?:but|and) (?:do not|don't|dont|never)|but not"
    r"|(?:do not|don't|dont) (?:lift|pick|raise)|no (?:lift|lifting)|(?:slide|push) only(?=\s*(?:[,.;:!?]|$))"
    r"|(?:maintain|maintaining|keep|keeping) contact)"
    r"|,\s*(?:do not|don't|dont|never|not)"
    r"|(?:,\s*|\s+(?:while|but|and)\s+)(?:keeping|keep|leaving|leave) (?:it|them))(?![\w'])[^,.;:!?]*"
    r"|^\s*without \w+ing[^,.;:!?]*[,.;:]"  # the same said first: "without lifting it, push ..."
)
# How it is moved, when that is a push: "... by sliding it along the table". Only these words go:
# "open the door by sliding it to the right" keeps its direction.
_MANNER_CLAUSE = re.compile(
    r"\s+by (?:sliding|pushing|dragging|nudging|shoving|scooting|sweeping) (?:it|them)"
    r"(?: (?:along|across|over|on) (?:the )?(?:table|tabletop|surface))?(?![\w'])"
)
# Why it is asked: "..., so I can see what's inside", "... in order to make room": not what to do.
# ("so it falls over" and "so it's beside the cube" say what to do: an idiom below reads the first, the
# matcher the second.)
_PURPOSE_CLAUSE = re.compile(
    r"(?:,\s*|\s+)(?:so (?:that )?(?:i|we|you|they|he|she) |in order (?:to|that) "
    r"|so (?:that )?it(?: won't| can| doesn't| does not| lines| fits| stays|(?:'s| is) (?:easier|harder|simpler|no longer)) )"
    r"[^,.;:!?]*"
    r"|,\s*(?:it's|it is|its) (?:blocking|in (?:my|the) way|bothering|annoying)[^,.;:!?]*"
    r"|,\s*(?:standing(?: up)?|upright)(?=\s*[.!?]*\s*$)"  # "onto the plate, standing up": as it stands
    # Where it is now, said as what is wrong: "the block is a bit too far right, scoot it left".
    r"|(?:is|'s|are) (?:a (?:bit|little|tad) |slightly |way |much |rather )?too far (?:over )?(?:to the )?"
    r"(?:left|right|forward|back)"
    # A parenthesis that says again which way, or the drawer's state: "(closer to base)", "(open)".
    r"|\((?:closer|nearer|further|farther) (?:to|from) [^)]*\)|\((?:open|opened|closed|shut)\)"
)

# Politeness frames and fillers: at the start, at the end, anywhere (general English, and the
# grammar's own frames: grammar_vocab.FRAMES).
_START = (
    r"(?:hey|hi|hello|ok|okay|alright|so|now|and|then|robot|please|kindly|just|also|first|next|finally|um+|uh+|er|erm)",
    r"(?:would|do) you mind|if you (?:don't|do not) mind|if you can|if possible",
    r"(?:could|can|would|will) you(?: please| kindly| just| possibly)?(?: be so kind as to)?",
    r"i(?:'d| would) like you to|i (?:want|need) you to|you (?:should|need to|can|could|must|may)",
    r"(?:can|could) we|we (?:need|have) to|let's|lets|let us|go ahead and|try to|time to|please try to",
    r"i(?:'d| would) like to|i want to|i need to",
    r"i (?:was wondering|wonder) if you (?:could|can|would)|do you think you (?:could|can)|do me a favou?r and",
    r"(?:would|will) it be possible (?:for you )?to|is it possible (?:for you )?to|why (?:don't|do not) you",
    r"(?:don't|do not) forget to|remember to|make sure (?:to|you)|be sure to",
)
_END = (
    r"(?:please|for me|thanks|thank you|if you can|if you could|if you would|now|right now|when you can"
    r"|if you (?:don't|do not) mind|if possible|if that's (?:ok|okay|alright)|when you (?:get|have) a (?:chance|moment)"
    r"|when you're ready|once|one time|would you|will you|could you|can you)"
)
_FILLER = (  # (longer first: "a little way" is one filler)
    r"just|gently|carefully|quickly|slowly|slightly|a (?:little )?bit|a (?:short |little )?(?:way|distance)"
    r"|a little|a tiny bit|some more|a smidge|a tad|a touch"
)
# The table as a place says which way: off it is up, onto it is down ("put it back on the table"),
# unless it only says where ("somewhere else on the table").
_TABLE_WAYS = (
    (
        re.compile(
            _W + r"(somewhere(?: else| different)?|elsewhere|anywhere|spot|place|position|location) on the table" + _E
        ),
        r" \1 ",
    ),  # where on it, no way
    (re.compile(_W + r"(?:up )?(?:off|from) (?:of )?(?:the )?(?:table|tabletop|table top|surface)" + _E), " up "),
    (re.compile(_W + r"(?:down )?(?:on|onto) (?:the )?(?:table|tabletop|table top|surface)" + _E), " down "),
    (re.compile(_W + r"(?:across|over) the (?:table|tabletop|table top|surface)" + _E), " "),
)
_START_RE = re.compile(r"^(?:" + "|".join(_START) + r")(?:\s+|$)")
_END_RE = re.compile(r"(?:^|\s+)" + _END + r"$")
_FILLER_RE = re.compile(_W + f"(?:{_FILLER})" + _E)
_PROHIBITION = re.compile(r"(?:do not|don't|dont|never|stop|quit|avoid)(?![\w'])")


def normalise(text: str) -> str:
    """Lower case, arrows as "to", punctuation to spaces (apostrophes kept inside words), single spaces."""
    text = re.sub(r"[’`]", "'", text.lower())
    # "red cube -> plate": an arrow says where to; after a bare name (three words at most) it is the whole request.
    bare = r"^\s*(?!(?:put|place|move|set|bring|take|get|push|slide|carry|drop|stack|shift|drag)\b)"
    text = re.sub(bare + r"((?:[\w']+\s+){0,2}[\w']+)\s*(?:->|=>|→|⇒)", r"move \1 ->", text)
    text = re.sub(r"\s*(?:->|=>|→|⇒)\s*", " to ", text)
    text = re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def core(text: str, verbs: frozenset[str] = frozenset()) -> str:
    """``text`` normalised, without politeness frames, fillers, the table as a place or clauses
    of what not to do, shorthand and idioms in plain words, and a leading gerund of one of
    ``verbs`` made an imperative. Never empty: the normalised text when nothing would be left."""
    words = _unframed(text).split()
    if words and (verb := _imperative(words[0], verbs)):
        words[0] = verb
    return " ".join(words) or normalise(text)


def prohibits(text: str) -> bool:
    """True when the request is one not to do something ("please don't open the drawer")."""
    return bool(_PROHIBITION.match(_unframed(text)))


def unknown_place(text: str, vocabulary: Mapping[str, int]) -> str | None:
    """A place the instruction names that neither ``vocabulary`` nor ``PLACE_WORDS`` knows ("on
    the floor", "at the wall"), else None: nothing in the scene is there to judge."""
    for match in _PLACE.finditer(said(text)):
        phrase = match.group(1).split()
        if not any(w in vocabulary or w in PLACE_WORDS for w in phrase):
            return match.group(1).strip()
    return None


def action_words(forms) -> frozenset[str]:
    """The words of a task's phrasing templates (``forms``) that say what it does ("move",
    "somewhere", "else"): its verbs and goals without their slots and frame words."""
    found = set()
    for form in forms:
        found |= set(normalise(re.sub(r"\{[a-z]\}", " ", form)).split())
    return frozenset(found - _NO_ACTION)


def stems(text: str) -> frozenset[str]:
    """The words of ``text`` and their plain forms: "moved" -> "move", "pushes" -> "push"."""
    out = set()
    for w in text.split():
        out.add(w)
        for suffix, back in (("s", ""), ("es", ""), ("d", ""), ("ed", ""), ("ing", ""), ("ing", "e")):
            if w.endswith(suffix) and len(w) > len(suffix) + 2:
                out.add(w[: -len(suffix)] + back)
    return frozenset(out)


def _unframed(text: str) -> str:
    return _without_frames(_plain(text))


def _without_frames(text: str) -> str:
    out = text
    for _ in range(4):  # frames nest: "ok so could you please ..."
        stripped = _END_RE.sub("", _START_RE.sub("", out)).strip()
        if stripped == out:
            break
        out = stripped
    return out


def said(text: str) -> str:
    """``text`` normalised, without clauses of what not to do, shorthand and idioms in plain words."""
    kept = re.sub(r"[’`]", "'", text.lower())
    for clause in (_NOT_CLAUSE, _PURPOSE_CLAUSE, _MANNER_CLAUSE):
        shorter = clause.sub(" ", kept)
        if not _only_frames(shorter):  # "please don't lift it" is all a prohibition, no clause of one
            kept = shorter
    out = " ".join(SHORTHAND.get(w, w) for w in normalise(kept if kept.strip() else text).split())
    for pattern, replacement in _IDIOMS:
        out = pattern.sub(replacement, out)
    return " ".join(out.split())


def _only_frames(text: str) -> bool:
    """Whether ``text`` holds nothing but politeness frames ("please", "robot,")."""
    return not _without_frames(normalise(text))


def _plain(text: str) -> str:
    """``said(text)`` with the table as a place turned into its way (up, down) and no fillers."""
    text = said(text)
    for pattern, way in _TABLE_WAYS:
        text = pattern.sub(way, text)
    return " ".join(_FILLER_RE.sub(" ", text).split())


def _imperative(word: str, verbs: frozenset[str]) -> str | None:
    """``putting`` -> ``put``, ``placing`` -> ``place``, ``moving`` -> ``move`` (when a verb)."""
    if not word.endswith("ing") or len(word) < 5:
        return None
    stem = word[:-3]
    for candidate in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
        if candidate in verbs:
            return candidate
    return None


def concepts(text: str) -> frozenset[str]:
    """The direction, relation, landmark and pole concepts ``text`` expresses (fillers and the
    table as a place are not read: "a little bit" is no size, "off the table" no pole)."""
    text = f" {_unframed(text)} "
    found = set()
    for pattern, concept in _COMPILED:
        if concept is None:
            text = pattern.sub(" ", text)
            continue
        text, n = pattern.subn(" | ", text)
        if n:
            found.update(concept.split())
    return frozenset(found)


_SIZE_WORDS = {c: re.compile(f"(?:{p})") for p, c in PATTERNS if c in ("SMALL", "BIG")}


def size_of(word: str) -> str | None:
    """``SMALL`` or ``BIG`` for a size word ("little", "larger"), else None."""
    return next((c for c, p in _SIZE_WORDS.items() if p.fullmatch(word)), None)


def contradicts(query: frozenset[str], candidate: frozenset[str]) -> bool:
    """True when the query holds one pole of a pair and the candidate only the other."""
    for a, b in POLES:
        for mine, theirs in ((a, b), (b, a)):
            if mine in query and theirs not in query and theirs in candidate and mine not in candidate:
                return True
    return False


MIN_TYPO = 3  # shorter words are too often a real word one letter from another ("lit", "lift")


def correct(text: str, vocabulary: Mapping[str, int], known: frozenset[str] = frozenset()) -> str:
    """``text`` with each word that is neither in ``vocabulary`` (the words the matcher's table
    uses, with how often) nor ``known`` (e.g. the encoder's whole words) replaced by the most
    frequent vocabulary word an edit away (a letter dropped, added, changed or two swapped):
    "drawr" -> "drawer" (not "draw"). A word with no such neighbour, or a tie, is kept."""

    def fix(match: re.Match) -> str:
        word = match.group(0)
        low = word.lower()
        if len(low) < MIN_TYPO or low in vocabulary or low in known or low in SHORTHAND or not low.isalpha():
            return word
        swapped = {w for w in _swaps(low) if w in vocabulary}
        if len(swapped) == 1:  # the same letters, two swapped: the commonest slip ("opne": open, not one)
            return swapped.pop()
        near = sorted(((vocabulary[w], w) for w in _edits(low) if w in vocabulary), reverse=True)
        if not near or (len(near) > 1 and near[0][0] == near[1][0]):
            return word
        return near[0][1]

    return re.sub(r"[^\W\d_]+(?:'[^\W\d_]+)*", fix, text)  # "shouldn't" is one word, not "shouldn" + "t"


def _swaps(word: str) -> set[str]:
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)} - {word}


def _edits(word: str) -> set[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= _swaps(word)
    out |= {a + c + b[1:] for (a, b), c in product(splits, letters) if b}
    out |= {a + c + b for (a, b), c in product(splits, letters)}
    out.discard(word)
    return out
