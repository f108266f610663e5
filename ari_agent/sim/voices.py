"""Simulated callers' voices and phone lines: every English TTS voice on the machine, every line condition.

Voices are found, not listed: flite's (`flite -lv`), espeak-ng's English voices with a few of its variants,
and festival's when it is installed. A line turns 16 kHz speech into what reaches the agent: a codec round trip
(G.711 mu-law or A-law, GSM), lost packets, noise or babble at a signal-to-noise ratio, a quiet or clipping level.
Pauses inside a sentence are real silence between separately synthesised pieces.
"""

from __future__ import annotations

import functools
import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ari_agent.media.audio import (
    FRAME_BYTES,
    array_to_pcm,
    downsample_16k_to_8k,
    mix_noise,
    pcm_to_array,
    read_wav,
    silence,
    ulaw_decode,
    ulaw_encode,
    upsample_8k_to_16k,
    write_wav,
)

LINES = (
    "clean-16k",
    "ulaw",
    "alaw",
    "gsm",
    "ulaw-loss-3",
    "ulaw-white-20",
    "ulaw-pink-15",
    "ulaw-babble-15",
    "ulaw-quiet",
    "ulaw-hot",
)
_ESPEAK_BASES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
_ESPEAK_VARIANTS = ("", "+f2", "+m3", "+f4", "+klatt")
_FESTIVAL_VOICES = {
    "cmu_us_slt_arctic_hts": "voice_cmu_us_slt_arctic_hts",
    "kal_diphone": "voice_kal_diphone",
    "ked_diphone": "voice_ked_diphone",
}
_FLITE_SKIP = {"awb_time"}  # a limited-domain voice: it can only say the time


class VoiceError(RuntimeError):
    """A voice could not speak (its engine is missing or failed)."""


def available_voices() -> list[str]:
    """Every English voice on this machine, as 'engine:name'."""
    voices: list[str] = []
    if shutil.which("flite"):
        out = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=False).stdout
        names = out.split(":", 1)[-1].split()
        voices += [f"flite:{n}" for n in names if n not in _FLITE_SKIP]
    if shutil.which("espeak-ng"):
        out = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True, check=False).stdout
        present = {line.split()[1] for line in out.splitlines()[1:] if len(line.split()) > 4 and "gmw/" in line}
        # Each base voice with one variant, drawn once and fixed, keeps espeak from outnumbering the rest.
        for i, base in enumerate(b for b in _ESPEAK_BASES if b in present):
            voices.append(f"espeak:{base}")
            variant = _ESPEAK_VARIANTS[1 + i % (len(_ESPEAK_VARIANTS) - 1)]
            voices.append(f"espeak:{base}{variant}")
    if shutil.which("text2wave"):
        roots = [p for p in Path("/usr/share/festival/voices").glob("*") if p.is_dir()]
        voices += [f"festival:{name}" for name in _FESTIVAL_VOICES if any((r / name).is_dir() for r in roots)]
    return voices


def pick_voice(rng: random.Random, voices: list[str]) -> str:
    """A voice, each engine equally likely: espeak's many variants must not make most callers espeak."""
    families = sorted({v.partition(":")[0] for v in voices})
    family = rng.choice(families)
    return rng.choice([v for v in voices if v.startswith(f"{family}:")])


@functools.lru_cache(maxsize=4096)
def synthesise(voice: str, text: str, rate: int = 0) -> bytes:
    """16 kHz s16le PCM of `text` spoken by `voice` (engine:name); `rate` is espeak's words per minute."""
    engine, _, name = voice.partition(":")
    with tempfile.TemporaryDirectory(prefix="ari-sim-") as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        if engine == "flite":
            cmd = ["flite", "-voice", name, "-t", text, "-o", str(raw)]
        elif engine == "espeak":
            cmd = ["espeak-ng", "-v", name, "-s", str(rate or 160), "-w", str(raw), text]
        elif engine == "festival":
            (Path(tmp) / "in.txt").write_text(text)
            cmd = ["text2wave", "-eval", f"({_FESTIVAL_VOICES[name]})", "-o", str(raw), str(Path(tmp) / "in.txt")]
        else:
            raise VoiceError(f"unknown voice engine {engine!r} in {voice!r} (flite:, espeak:, festival:)")
        done = subprocess.run(cmd, capture_output=True, check=False)
        if done.returncode != 0 or not raw.is_file():
            raise VoiceError(f"{voice} failed to say {text!r}: {done.stderr.decode(errors='replace')[:200]}")
        subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True,
                       capture_output=True)  # fmt: skip
        return read_wav(out)


def speak(voice: str, pieces: list[str], pauses: list[float], rate: int = 0) -> bytes:
    """Pieces spoken in turn with the given pauses (seconds) between them; 16 kHz PCM."""
    audio = bytearray()
    for i, piece in enumerate(pieces):
        if piece.strip():
            audio += trim(synthesise(voice, piece.strip(), rate))
        if i < len(pauses) and pauses[i] > 0:
            audio += silence(int(pauses[i] * 1000))
    return bytes(audio)


def trim(pcm: bytes, threshold: int = 200) -> bytes:
    """Leading and trailing near-silence off a synthesised piece, so a pause is the pause we chose."""
    samples = pcm_to_array(pcm)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm
    start, end = max(0, int(loud[0]) - 800), min(len(samples), int(loud[-1]) + 1600)
    return array_to_pcm(samples[start:end])


@functools.lru_cache(maxsize=1)
def _babble() -> bytes:
    """Three other people talking at once: the background of a busy room."""
    lines = (
        "I told him we would be there by six but the traffic was terrible all the way",
        "she wants the blue one not the green one and they have sold out of both",
        "did you see the match last night it went to extra time and then penalties",
    )
    voices = [v for v in available_voices() if v.startswith("flite:")][:3] or ["espeak:en-us"]
    tracks = [pcm_to_array(synthesise(voices[i % len(voices)], t)).astype(np.float64) for i, t in enumerate(lines)]
    n = max(len(t) for t in tracks)
    mix = np.zeros(n)
    for t in tracks:
        mix[: len(t)] += t
    return array_to_pcm(np.clip(mix / 2, -32768, 32767).astype(np.int16))


def _sox_roundtrip(pcm8k: bytes, encode: list[str], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="ari-sim-") as tmp:
        src, coded, back = Path(tmp) / "in.wav", Path(tmp) / f"coded{suffix}", Path(tmp) / "back.wav"
        write_wav(src, pcm8k, 8000)
        # -D: no dither, so the same speech on the same line is the same audio in every run.
        subprocess.run(["sox", "-D", str(src), *encode, str(coded)], check=True, capture_output=True)
        subprocess.run(["sox", "-D", str(coded), "-e", "signed-integer", "-b", "16", "-r", "8000", str(back)],
                       check=True, capture_output=True)  # fmt: skip
        return read_wav(back)  # 16 kHz again


def apply_line(pcm: bytes, line: str, seed: int) -> bytes:
    """What `pcm` (16 kHz) sounds like at the agent after `line`; deterministic for a seed."""
    if line == "clean-16k":
        return pcm
    m = re.fullmatch(r"(ulaw|alaw|gsm)(?:-(loss|white|pink|babble|quiet|hot)(?:-(\d+))?)?", line)
    if m is None:
        raise ValueError(f"unknown line {line!r}; known: {', '.join(LINES)}")
    codec, effect, amount = m.group(1), m.group(2), int(m.group(3) or 0)
    if effect in ("white", "pink"):
        pcm = mix_noise(pcm, float(amount), seed=seed, colour=effect)
    elif effect == "babble":
        pcm = mix_noise(pcm, float(amount), seed=seed, noise=_babble())
    elif effect in ("quiet", "hot"):
        # A quiet line (-18 dB) and a hot one (+6 dB over peak-normalised speech: its loud syllables clip).
        gain = 10 ** ((-18 if effect == "quiet" else 6) / 20)
        pcm = array_to_pcm(np.clip(pcm_to_array(pcm).astype(np.float64) * gain, -32768, 32767).astype(np.int16))
    narrow = downsample_16k_to_8k(pcm)
    if codec == "ulaw":
        wide = upsample_8k_to_16k(ulaw_decode(ulaw_encode(narrow)))
    elif codec == "alaw":
        wide = _sox_roundtrip(narrow, ["-e", "a-law"], ".wav")
    else:
        wide = _sox_roundtrip(narrow, [], ".gsm")
    if effect == "loss":
        rng = random.Random(seed)
        out = bytearray(wide)
        for start in range(0, len(out) - FRAME_BYTES + 1, FRAME_BYTES):
            if rng.random() < amount / 100:
                out[start : start + FRAME_BYTES] = bytes(FRAME_BYTES)  # a lost 20 ms packet, not concealed
        wide = bytes(out)
    return wide
