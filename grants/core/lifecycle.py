"""The life of a record that hangs on a case (a decision, an appeal, a reviewer's assignment), as data: its steps,
each from some states to one, and the one function that moves a record along them.

The application's own life, with its actors, guards and followers, is grants.applications.workflow; these smaller
lives have no actors of their own (their use cases check who may) and no followers."""

from dataclasses import dataclass

from grants.errors import InvalidTransition


@dataclass(frozen=True)
class Step:
    """``action`` (str) takes a record from any of ``sources`` to ``target``; ``title`` names it for people (an
    English msgid, translated where it is shown)."""

    action: str
    sources: frozenset
    target: object
    title: str


class Lifecycle:
    """The states of one kind of record and the steps between them. ``steps`` is an iterable of Step; an action
    may appear once."""

    def __init__(self, name, steps):
        self.name = name
        self.steps = {step.action: step for step in steps}

    def can(self, record, action):
        """Whether ``record`` (with a ``state``) can take ``action`` (str) from its present state."""
        step = self.steps.get(action)
        return step is not None and record.state in step.sources

    def move(self, record, action):
        """Move ``record`` by ``action`` (str): sets its state to the step's target and returns the Step. The only
        code that changes the state of the records this kind of life governs (tests/unit/test_workflow_table.py
        checks). Raises InvalidTransition("not_allowed", record=name, action, state) when the step does not start
        from the record's state; nothing is changed then."""
        if not self.can(record, action):
            raise InvalidTransition("not_allowed", record=self.name, action=action, state=str(record.state))
        step = self.steps[action]
        record.state = step.target
        return step


def step(action, sources, target, title):
    """A Step from an iterable of source states."""
    return Step(action, frozenset(sources), target, title)
