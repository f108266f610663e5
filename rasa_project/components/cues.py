"""Cue words of yes/no answers and of closings, for turns the ASR garbled.

Pure functions, no Rasa imports: the NLU component `short_answers.ShortAnswerCues` and the form validation
(actions/actions.py) both use them, and the unit tests import this file directly.

Why rules: the small Vosk model turns short answers into other words ("yes please" -> "<x> please", "thank
you goodbye" -> "thank you <x> by"). Such a turn keeps its polite or closing words while the yes/bye word is
lost or replaced; the classifier, trained on clean phrasings, then falls back or follows a stray word. A short
turn whose only content is affirmative cues and no negation is a yes; "thanks"/"cheers" ending on a sound of
"bye" is a goodbye. The rules look at cue words only, never at particular misrecognitions.
"""

from __future__ import annotations

import re

# Words that carry no yes/no content: articles, pronouns, auxiliaries, hesitations (ASR also emits these
# for lost syllables: "yes" heard as "us", "this", "yet").
FILLER = frozenset(
    """
a an the and or but of to in on at for from by with so then this that these those it its it's that's
i me my you your we our us he she him her they them there here is am are was were be been do does
did have has had will would can could shall should may might must um uh er erm eh hmm mm ah oh well just
yet yep yeah yes
""".split()
)
AFFIRM_WORDS = frozenset(
    """
yes yeah yep yup aye sure ok okay please fine right correct perfect great lovely good brilliant absolutely
definitely certainly exactly thanks thank cheers alright go ahead sounds
""".split()
)
# A yes is only a yes with at least one of these (fillers alone, "hmm", "uh", are hesitation, not consent).
AFFIRM_CUES = AFFIRM_WORDS - {"go", "ahead", "sounds", "good", "thank", "thanks", "cheers"} | {"yes", "yeah"}
NO_WORDS = frozenset(
    """
no nope nah not don't dont didn't doesn't isn't wasn't won't can't cannot never wrong incorrect
""".split()
)
# A change of mind also rules out a yes, but is not a "no" on its own ("cancel it" is a task, not an answer).
NEGATIONS = NO_WORDS | {"wait", "hold", "actually", "change", "instead", "different", "cancel", "stop"}
THANKS = frozenset({"thank", "thanks", "cheers", "ta"})
# What "bye" becomes in ASR output: homophones and the word itself, alone or doubled.
BYE_SOUNDS = frozenset({"bye", "by", "buy", "bi", "bye-bye", "goodbye", "bai"})
# A short answer: longer turns carry content the classifier should judge.
MAX_SHORT_TOKENS = 4


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, apostrophes kept ("don't", "that's")."""
    return re.findall(r"[a-z][a-z'-]*", text.lower().replace("’", "'"))


def has_negation(text: str) -> bool:
    """True when the turn contains a negation or a change-of-mind word."""
    return any(w in NEGATIONS for w in tokens(text))


def is_short_yes(text: str) -> bool:
    """A short turn whose content words are all affirmative, with at least one yes cue and no negation."""
    words = tokens(text)
    if not words or len(words) > MAX_SHORT_TOKENS or any(w in NEGATIONS for w in words):
        return False
    content = [w for w in words if w not in FILLER]
    return all(w in AFFIRM_WORDS for w in content) and any(w in AFFIRM_CUES for w in words)


def is_short_no(text: str) -> bool:
    """A short turn with a negation and otherwise only polite or filler words ("no thanks", "nope not really")."""
    words = tokens(text)
    if not words or len(words) > MAX_SHORT_TOKENS:
        return False
    content = [w for w in words if w not in FILLER and w not in NO_WORDS]
    return any(w in NO_WORDS for w in words) and all(w in AFFIRM_WORDS | {"really", "that", "all"} for w in content)


def yes_or_no(text: str) -> str | None:
    """'yes', 'no', or None (unclear) for an answer to a yes/no question."""
    if is_short_no(text):
        return "no"
    if is_short_yes(text):
        return "yes"
    return None


def is_closing(text: str) -> bool:
    """A thank-you ending on a sound of 'bye' ("thank you good bye", "thanks buy"): the caller is leaving."""
    words = tokens(text)
    if not words or len(words) > 8:
        return False
    return words[-1] in BYE_SOUNDS and any(w in THANKS for w in words)


# What the voice agent's constrained reading of a turn (metadata "asr_hint", ari_agent/asr/expectations.py) can
# hold besides yes/no and filler words. Words that name a value on their own:
VALUE_WORDS = frozenset(
    """
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december today tomorrow week morning afternoon evening noon midday lunchtime
cleaning check checkup filling hygienist examination polish
""".split()
)
# ... and numbers, which name one only in a time phrase, as a whole answer, or as a run of phone digits.
NUMBER_WORDS = frozenset(
    """
zero oh one two three four five six seven eight nine ten eleven twelve fifteen thirty forty twenty first second
third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth
seventeenth eighteenth nineteenth twentieth thirtieth
""".split()
)
_HOUR = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_TIME_PHRASE = re.compile(rf"\b(?:(?:half|quarter) (?:past|to) {_HOUR}|{_HOUR} (?:o'clock|thirty|fifteen|forty|a m|p m))\b")
MIN_PHONE_DIGITS = 6


def names_a_value(words: list[str]) -> bool:
    """True when these words name a day, a time, a service or a phone number (not just a stray number)."""
    if any(w in VALUE_WORDS for w in words):
        return True
    digits = sum(w in NUMBER_WORDS or w in ("double", "triple") for w in words)
    return digits >= MIN_PHONE_DIGITS or bool(_TIME_PHRASE.search(" ".join(words)))


def hint_intent(hint: object) -> str | None:
    """The intent of a turn the classifier fell back on, read from the agent's constrained reading of it.

    A reading that fitted the yes/no phrases entirely is affirm or deny; one naming a day, a time, a service or
    a phone number is inform (the form validation then takes the value it asked for), and so is a lone number
    when the whole turn fitted the phrases ("two" asked for a time). Anything else ("thirty nope" read from
    gibberish) is None.
    """
    if not isinstance(hint, dict) or not isinstance(hint.get("text"), str):
        return None
    words = tokens(hint["text"])
    if hint.get("complete"):
        answer = yes_or_no(hint["text"])
        if answer is not None:
            return "affirm" if answer == "yes" else "deny"
    if names_a_value(words) or (hint.get("complete") and any(w in NUMBER_WORDS for w in words)):
        return "inform"
    return None

