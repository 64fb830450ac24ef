"""The README stays true: it opens with the two commands, and documents every setting facesite/settings reads."""

from tests.foundation.test_compose import REPO, settings_variables

README = (REPO / "README.md").read_text()


def test_readme_opens_with_make_run_and_make_test() -> None:
    commands = [line.split("#")[0].strip() for line in README.splitlines()[:5] if line.startswith("    ")]
    assert commands[:2] == ["make run", "make test"]


def test_every_environment_variable_is_documented() -> None:
    missing = sorted(name for name in settings_variables() if f"`{name}`" not in README)
    assert not missing, f"facesite/settings reads variables the README does not document: {missing}"
