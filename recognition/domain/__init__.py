"""Pure decisions of the identity domain: numpy and the standard library only.

Nothing below this package imports Django, an app of this project, or recognition.engine: callers (services,
commands, consumers, benches) run the engine and hand plain numbers (keypoints, boxes, timestamps) to these
rules, so the rules are tested on synthetic data and reused by every entry point without a second copy.
"""
