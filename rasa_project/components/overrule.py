"""How an NLU component overrules the classifier: one place, so every override reads the same in the logs.

The chosen intent goes on top with the component's confidence; the classifier's own ranking stays below it
(without a second entry of the chosen intent), as FallbackClassifier does, so `rasa test` (which undoes one
fallback) still scores the classifier itself.
"""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message


def overrule_intent(message: Message, name: str, confidence: float) -> None:
    """Make `name` the message's intent, ahead of what the classifier ranked."""
    chosen = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
