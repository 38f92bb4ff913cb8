"""The task table of the phrasing grammar: each task id's meaning and templates (data only).

See ``grammar_vocab`` for the pattern language (slots ``{x}``, alternatives ``<left>``) and the
rules the vocabulary keeps; adding a task is adding an entry here.
"""

from __future__ import annotations

from robolang.captioning.grammar_vocab import ALTERNATIVES, TaskTemplates, templates


def _push(side: str, goals: tuple[str, ...], meaning: str) -> TaskTemplates:
    verbs: dict[str, tuple[str, ...] | str] = {"push": (f"push {{x}} <{side}>", f"give {{x}} a push <{side}>")}
    verbs |= {v: f"{v} {{x}} <{side}>" for v in ("slide", "shove", "move", "shift", "scoot")}
    verbs["nudge"] = (f"nudge {{x}} <{side}>", f"give {{x}} a nudge <{side}>")
    return templates(meaning, verbs, goals)


def _side(on: str, to: str, where: str, meaning: str) -> TaskTemplates:
    verbs = {"move": f"move {{x}} <{to}>"}
    verbs |= {v: f"{v} {{x}} <{on}>" for v in ("put", "place")}
    verbs["set"] = f"set {{x}} down <{on}>"
    verbs |= {v: f"{v} {{x}} <{to}>" for v in ("bring", "take", "shift", "carry", "relocate", "transfer")}
    goals = (f"I want {{x}} <{on}>", f"{{x}} should be <{on}>", f"{{x}} belongs <{on}>", f"{{x}} goes {where}")
    return templates(meaning, verbs, goals)


def _rotate(direction: str, meaning: str) -> TaskTemplates:
    verbs = {v: f"{v} {{x}} <{direction}>" for v in ("rotate", "turn", "twist", "spin", "swivel", "pivot")}
    goals = (f"I want {{x}} rotated <{direction}>", f"{{x}} should be rotated <{direction}>")
    return templates(meaning, verbs, goals)


def _door(side: str, meaning: str) -> TaskTemplates:
    verbs = {v: f"{v} {{s}} <door_{side}>" for v in ("slide", "move", "push", "pull", "shift", "drag")}
    goals = (
        f"I want {{s}} further to the {side}",
        f"{{s}} should be further to the {side}",
        f"{{s}} goes to the {side}",
    )
    return templates(meaning, verbs, goals)


def _light(on: str, verbs: dict[str, tuple[str, ...] | str], goals: tuple[str, ...], meaning: str) -> TaskTemplates:
    base = {"turn": (f"turn {on} {{l}}", f"turn {{l}} {on}"), "switch": (f"switch {on} {{l}}", f"switch {{l}} {on}")}
    base["flick"] = (f"flick {on} {{l}}", f"flick {{l}} {on}")
    common = (f"I want {{l}} {on}", f"{{l}} should be {on}", f"{{l}} needs to be {on}")
    return templates(meaning, base | verbs, common + goals)


def _beside(where: str, side: str, opposite: str, meaning: str) -> TaskTemplates:
    """X put next to Y on one side of it ("put {x} in front of {y}", "{y} should be behind {x}");
    ``side`` is "near" or "far": "on the near side of" for placing, "to the near side of" for moving."""
    verbs = {v: (f"{v} {{x}} <{where}> {{y}}", f"{v} {{x}} on the {side} side of {{y}}") for v in ("put", "place")}
    verbs |= {v: (f"{v} {{x}} <{where}> {{y}}", f"{v} {{x}} to the {side} side of {{y}}") for v in ("move", "bring")}
    verbs |= {v: f"{v} {{x}} <{where}> {{y}}" for v in ("position", "slide", "push")}
    verbs["set"] = (f"set {{x}} down <{where}> {{y}}", f"set {{x}} down on the {side} side of {{y}}")
    goals = (f"I want {{x}} <{where}> {{y}}", f"{{x}} should be <{where}> {{y}}", f"{{x}} goes <{where}> {{y}}")
    goals += (f"{{x}} should be on the {side} side of {{y}}", f"{{y}} should be {ALTERNATIVES[opposite][0]} {{x}}")
    return templates(meaning, verbs, goals)


TASKS: dict[str, TaskTemplates] = {
    # ---- one object -----------------------------------------------------------------------
    "lift": templates(
        "X is raised clear of what it rested on and held in the air",
        {
            "lift": ("lift {x}", "lift {x} up", "lift up {x}", "lift {x} off the table", "lift {x} into the air"),
            "pick": ("pick up {x}", "pick {x} up", "pick {x} up off the table"),
            "raise": ("raise {x}", "raise {x} off the table", "raise {x} into the air"),
            "hoist": ("hoist {x}", "hoist {x} up"),
            "grab": ("grab {x} and lift it", "grab {x} and lift it up"),
            "elevate": "elevate {x}",
            "hold": ("hold {x} up in the air", "hold {x} up high"),
            "get": ("get {x} off the table", "get {x} up in the air"),
        },
        (
            "I want {x} up in the air",
            "{x} should be up in the air",
            "{x} should be off the table",
            "{x} needs to be in the air",
        ),
    ),
    "place_on_plate": templates(
        "X ends resting on the plate",
        {
            "put": ("put {x} on {p}", "put {x} onto {p}", "put {x} down on {p}"),
            "place": ("place {x} on {p}", "place {x} onto {p}"),
            "set": ("set {x} on {p}", "set {x} down on {p}"),
            "move": ("move {x} onto {p}", "move {x} to {p}", "move {x} over to {p}"),
            "lay": "lay {x} on {p}",
            "drop": ("drop {x} on {p}", "drop {x} onto {p}"),
            "transfer": ("transfer {x} to {p}", "transfer {x} onto {p}"),
            "bring": ("bring {x} to {p}", "bring {x} over to {p}"),
            "stick": "stick {x} on {p}",
        },
        ("I want {x} on {p}", "{x} should be on {p}", "{x} goes on {p}", "{x} belongs on {p}")
        + ("make sure {x} ends up on {p}", "{x} onto {p}"),
    ),
    "remove_from_plate": templates(
        "X started on the plate and ends off it",
        {
            "remove": "remove {x} from {p}",
            "take": ("take {x} off {p}", "take {x} off of {p}"),
            "lift": "lift {x} off {p}",
            "move": ("move {x} off {p}", "move {x} away from {p}"),
            "get": "get {x} off {p}",
            "pick": ("pick {x} up off {p}", "pick up {x} from {p}"),
            "clear": ("clear {x} off {p}", "clear {x} from {p}"),
            "push": "push {x} off {p}",
            "slide": "slide {x} off {p}",
        },
        ("I want {x} off {p}", "{x} should not be on {p}", "{x} shouldn't be on {p} anymore")
        + ("{p} should not have {x} on it", "{x} doesn't belong on {p}"),
    ),
    "put_in_drawer": templates(
        "X ends inside the drawer",
        {
            "put": ("put {x} in {d}", "put {x} into {d}", "put {x} inside {d}", "put {x} away in {d}"),
            "place": ("place {x} in {d}", "place {x} into {d}", "place {x} inside {d}"),
            "store": "store {x} in {d}",
            "stow": ("stow {x} in {d}", "stow {x} away in {d}"),
            "drop": ("drop {x} into {d}", "drop {x} in {d}"),
            "get": "get {x} into {d}",
            "tuck": ("tuck {x} into {d}", "tuck {x} away in {d}"),
            "stash": "stash {x} in {d}",
            "move": "move {x} into {d}",
            "lower": "lower {x} into {d}",
        },
        ("I want {x} in {d}", "{x} goes in {d}", "{x} belongs in {d}", "{x} should be in {d}")
        + ("make sure {x} ends up in {d}", "{x} into {d}"),
    ),
    "take_from_drawer": templates(
        "X started inside the drawer and ends outside it",
        {
            "take": "take {x} out of {d}",
            "remove": "remove {x} from {d}",
            "get": "get {x} out of {d}",
            "pull": "pull {x} out of {d}",
            "retrieve": "retrieve {x} from {d}",
            "fetch": "fetch {x} from {d}",
            "lift": "lift {x} out of {d}",
            "grab": "grab {x} from {d}",
            "pick": ("pick {x} out of {d}", "pick up {x} from {d}"),
            "extract": "extract {x} from {d}",
            "bring": "bring {x} out of {d}",
        },
        ("I want {x} out of {d}", "{x} should be out of {d}", "{x} shouldn't be in {d}")
        + ("{d} should not have {x} in it", "{x} doesn't belong in {d}"),
    ),
    "push_left": _push(
        "left",
        ("I want {x} a bit more to the left", "{x} should be a little further left", "{x} needs to go a bit left"),
        "X slides along the table towards the robot's left (+y) without being lifted",
    ),
    "push_right": _push(
        "right",
        ("I want {x} a bit more to the right", "{x} should be a little further right", "{x} needs to go a bit right"),
        "X slides along the table towards the robot's right (-y) without being lifted",
    ),
    "push_forward": _push(
        "forward",
        ("I want {x} a bit further away from you", "{x} should be a little farther from you"),
        "X slides along the table away from the robot (+x) without being lifted",
    ),
    "push_back": templates(
        "X slides along the table towards the robot (-x) without being lifted",
        {
            "push": ("push {x} <back>", "give {x} a push <back>"),
            "pull": "pull {x} <toward>",
            "drag": "drag {x} <toward>",
            "slide": "slide {x} <back>",
            "nudge": "nudge {x} <back>",
            "draw": "draw {x} <toward>",
            "bring": "bring {x} <toward>",
            "scoot": "scoot {x} <back>",
        },
        ("I want {x} a bit closer to you", "{x} should be a little closer to you", "{x} needs to come towards you"),
    ),
    "rotate_left": _rotate("ccw", "X turns counter-clockwise seen from above, staying in place"),
    "rotate_right": _rotate("cw", "X turns clockwise seen from above, staying in place"),
    "move_to_left_side": _side("on_left", "to_left", "on the left", "X ends in the left third of the table (+y)"),
    "move_to_right_side": _side("on_right", "to_right", "on the right", "X ends in the right third of the table (-y)"),
    "move_to_front": _side(
        "on_front", "to_front", "at the front", "X ends in the third of the table nearest the robot"
    ),
    "move_to_back": _side(
        "on_back", "to_back", "at the back", "X ends in the third of the table farthest from the robot"
    ),
    "put_down": templates(
        "X was held and ends resting on the table",
        {
            "put": ("put {x} down", "put down {x}", "put {x} back on the table", "put {x} down on the table"),
            "set": ("set {x} down", "set down {x}", "set {x} on the table"),
            "place": ("place {x} on the table", "place {x} down"),
            "lower": ("lower {x} onto the table", "lower {x} down to the table"),
            "lay": ("lay {x} down", "lay {x} on the table"),
            "release": ("release {x}", "release {x} onto the table"),
            "drop": ("drop {x}", "drop {x} on the table"),
            "rest": "rest {x} on the table",
        },
        ("{x} should be back on the table", "I want {x} back on the table", "{x} goes back on the table"),
    ),
    "grasp": templates(
        "X ends held between the gripper's fingers",
        {
            "grasp": "grasp {x}",
            "grab": "grab {x}",
            "grip": "grip {x}",
            "take": "take hold of {x}",
            "get": "get hold of {x}",
            "seize": "seize {x}",
            "clutch": "clutch {x}",
            "close": ("close the gripper on {x}", "close your gripper around {x}"),
        },
        ("I want {x} in your gripper", "{x} should be in your gripper", "{x} should be in your hand"),
    ),
    "topple": templates(
        "extra: a tall X (height >= 1.2x its narrower side, e.g. a standing cylinder) knocked from upright"
        " (within 20 degrees) onto its side (more than 60 degrees)",
        {
            "knock": ("knock over {x}", "knock {x} over"),
            "topple": ("topple {x}", "topple {x} over"),
            "tip": ("tip over {x}", "tip {x} over"),
            "push": ("push over {x}", "push {x} over"),
            "lay": "lay {x} on its side",
            "tilt": "tilt {x} over",
        },
        ("{x} should be lying on its side", "I want {x} on its side", "{x} should fall over"),
    ),
    # ---- two objects ----------------------------------------------------------------------
    "stack": templates(
        "X ends resting on top of Y",
        {
            "stack": ("stack {x} on {y}", "stack {x} on top of {y}", "stack {x} onto {y}"),
            "put": ("put {x} on {y}", "put {x} on top of {y}", "put {x} onto {y}"),
            "place": ("place {x} on {y}", "place {x} on top of {y}"),
            "set": ("set {x} on {y}", "set {x} on top of {y}"),
            "pile": "pile {x} on top of {y}",
            "balance": ("balance {x} on {y}", "balance {x} on top of {y}"),
            "rest": "rest {x} on top of {y}",
            "build": "build a tower with {x} on top of {y}",
        },
        ("I want {x} on top of {y}", "{x} should be on top of {y}", "{x} goes on top of {y}", "{x} on top of {y}"),
    ),
    "unstack": templates(
        "X started on top of Y and ends off it",
        {
            "unstack": "unstack {x} from {y}",
            "remove": ("remove {x} from {y}", "remove {x} from the top of {y}"),
            "take": ("take {x} off {y}", "take {x} off of {y}", "take {x} off the top of {y}"),
            "lift": ("lift {x} off {y}", "lift {x} off the top of {y}"),
            "get": "get {x} off {y}",
            "pick": "pick {x} up off {y}",
            "move": "move {x} off {y}",
            "knock": "knock {x} off {y}",
        },
        ("{x} should not be on top of {y}", "I don't want {x} on top of {y}", "{x} shouldn't be on {y} anymore"),
    ),
    "place_next_to": templates(
        "X ends beside Y (a gap of at most about a block's width)",
        {
            "put": "put {x} <next> {y}",
            "place": "place {x} <next> {y}",
            "set": "set {x} down <next> {y}",
            "move": "move {x} <next> {y}",
            "bring": "bring {x} <next> {y}",
            "position": "position {x} <next> {y}",
            "slide": "slide {x} <next> {y}",
            "push": "push {x} <next> {y}",
        },
        ("I want {x} <next> {y}", "{x} should be <next> {y}", "{x} and {y} should be side by side"),
    ),
    "place_in_front_of": _beside(
        "front_of", "near", "behind", "extra: X put down next to Y on the robot's side of it (between the robot and Y)"
    ),
    "place_behind": _beside(
        "behind", "far", "front_of", "extra: X put down next to Y on its far side (away from the robot)"
    ),
    # ---- fixtures (no object argument) ----------------------------------------------------
    "open_drawer": templates(
        "the drawer ends clearly further out than it started",
        {
            "open": ("open {d}", "open up {d}"),
            "pull": ("pull {d} open", "pull {d} out", "pull out {d}"),
            "slide": ("slide {d} open", "slide {d} out"),
            "yank": "yank {d} open",
            "get": "get {d} open",
        },
        ("{d} should be open", "I want {d} open", "{d} needs to be open", "I need {d} open"),
    ),
    "close_drawer": templates(
        "the drawer ends clearly further in than it started",
        {
            "close": ("close {d}", "close up {d}"),
            "shut": "shut {d}",
            "push": ("push {d} closed", "push {d} in", "push in {d}"),
            "slide": ("slide {d} closed", "slide {d} in"),
            "shove": "shove {d} closed",
        },
        ("{d} should be closed", "I want {d} closed", "{d} needs to be closed", "{d} shouldn't be open"),
    ),
    "slide_door_left": _door("left", "the sliding door moves to its left (-x), seen facing its cabinet"),
    "slide_door_right": _door("right", "the sliding door moves to its right (+x), seen facing its cabinet"),
    "turn_on_light": _light(
        "on",
        {"power": ("power on {l}", "power up {l}"), "activate": "activate {l}", "enable": "enable {l}"},
        ("it's too dark in here",),
        "the light was off and ends on",
    ),
    "turn_off_light": _light(
        "off",
        {"power": ("power off {l}", "power down {l}"), "shut": ("shut off {l}", "shut {l} off")}
        | {"kill": "kill {l}", "deactivate": "deactivate {l}"},
        ("it's too bright in here",),
        "the light was on and ends off",
    ),
    "press_button": templates(
        "the button is pressed down past its latch point (toggling the light)",
        {
            "press": ("press {b}", "press down on {b}", "press {b} down"),
            "push": ("push {b}", "push {b} down", "push down on {b}"),
            "hit": "hit {b}",
            "tap": "tap {b}",
            "click": "click {b}",
            "poke": "poke {b}",
            "depress": "depress {b}",
        },
        ("{b} needs a press", "I want {b} pressed"),
    ),
    "move_plate": templates(
        "the plate itself ends clearly elsewhere on the table",
        {
            "move": ("move {p}", "move {p} somewhere else", "move {p} to a different spot"),
            "shift": ("shift {p}", "shift {p} over"),
            "slide": ("slide {p} across the table", "slide {p} over"),
            "push": ("push {p} somewhere else", "push {p} to a new spot"),
            "reposition": "reposition {p}",
            "relocate": "relocate {p}",
            "drag": "drag {p} across the table",
            "nudge": "nudge {p} to a new spot",
        },
        ("{p} should be somewhere else", "I want {p} in a different place", "{p} needs to go somewhere else"),
    ),
}
