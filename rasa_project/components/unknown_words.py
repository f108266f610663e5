"""UnknownWordsFallback: a turn made only of words the model never saw in training is not understood.

Why: a linear classifier given no known word still returns a probability spread, and its largest class
(affirm, inform) can clear the FallbackClassifier threshold: "blorp fizz" or a bare "hmm" came back as
`affirm` at 0.5-0.75, and "affirm" at a confirmation books an appointment. Here a turn with no known
content word becomes `nlu_fallback` whatever the classifier said. Place it after FallbackClassifier.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.overrule import overrule_intent

_LOGGER = logging.getLogger(__name__)

# Words that carry no intent on their own: articles, pronouns, prepositions and hesitation noises. Seeing
# only these (plus unknown words) is not understanding, even though they all occur in the training data.
FUNCTION_WORDS = frozenset(
    """
a an the and or but of to in on at for from by with about as so then than this that these those it its
i me my mine you your we our us he she him her they them their there here is am are was were be been
do does did have has had will would can could shall should may might must um uh er erm eh hmm mm ah oh
""".split()
)
VOCABULARY_FILE = "vocabulary.json"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    """Predicts nlu_fallback when no content word of the turn was seen in training."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs tokens (the classifier it overrules is placed before it in config.yml)."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Confidence reported with the fallback intent (as FallbackClassifier reports its threshold)."""
        return {"fallback_confidence": 1.0}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: frozenset[str] = frozenset(),
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsFallback:
        """A new, untrained component."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Remembers every token of the training examples."""
        words = {t.text.lower() for m in training_data.intent_examples for t in m.get(TOKENS_NAMES[TEXT]) or []}
        self.vocabulary = frozenset(words)
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(sorted(words)), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        """The trained component with its vocabulary."""
        try:
            with model_storage.read_from(resource) as directory:
                words = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            _LOGGER.warning("no vocabulary stored for %s: every turn passes", cls.__name__)
            words = []
        return cls(config, model_storage, resource, frozenset(words))

    def known_content_words(self, message: Message) -> list[str]:
        """The turn's tokens that are in the training vocabulary and are not function words."""
        tokens = [t.text.lower() for t in message.get(TOKENS_NAMES[TEXT]) or []]
        return [w for w in tokens if w in self.vocabulary and w not in FUNCTION_WORDS]

    def process(self, messages: list[Message]) -> list[Message]:
        """Overrules the classifier with nlu_fallback on turns without a known content word."""
        for message in messages:
            intent = message.get(INTENT) or {}
            if not self.vocabulary or intent.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME:
                continue  # untrained, or already a fallback: one fallback entry keeps `rasa test` exact
            if self.known_content_words(message):
                continue
            # Same shape as FallbackClassifier's (components/overrule.py).
            overrule_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME, float(self._config["fallback_confidence"]))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes unchanged."""
        return training_data
