"""``robolang annotate``: a local web page to label recorded play by hand.

``catalogue`` reads what the page shows (episodes, their cameras' video files and where each
episode lies in them); ``labels`` checks and stores human labels in the dataset's annotation
table (``robolang.captioning.annotations``); ``suggestions`` offers instructions for a marked
segment (the oracle captioner's, where the recording has scene state); ``server`` is the
Flask app, and ``static/`` the page it serves (plain JS and CSS, nothing from the network).
"""
