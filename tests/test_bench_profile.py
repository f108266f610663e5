"""bench/cpu_profile.py reads py-spy's raw stacks into the top entries latest.json reports."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from cpu_profile import top_entries

PROCESS = 'process 7:"python bench/bench_calls.py"'
THREAD = "_bootstrap (threading.py:1002);run (concurrent/futures/thread.py:58)"
OPEN = "_accept_unguarded (/work/ari_agent/asr/vosk.py:169);AcceptWaveform (vosk/__init__.py:190)"
HINT = "_accept_unguarded (/work/ari_agent/asr/vosk.py:165);AcceptWaveform (vosk/__init__.py:190)"
DECODE = "kaldi::LatticeIncrementalDecoderTpl<fst::Fst<fst::ArcTpl<float> >, Token>::ProcessEmitting (libvosk.so)"


def test_top_entries_name_the_hot_frames_and_the_agent_code_above_them(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        f"{PROCESS};{THREAD};{OPEN};{DECODE} 6\n"
        f"{PROCESS};{THREAD};{HINT};0x7f4a7a9278ec (libc.so.6) 2\n"
        f"{PROCESS};select (selectors.py:468) 2\n"
        "a line py-spy never writes\n"
    )
    top = top_entries(raw)
    assert top["samples"] == 10
    assert top["self"][0] == {"function": "kaldi::LatticeIncrementalDecoderTpl::ProcessEmitting (libvosk.so)",
                              "share": 0.6}  # fmt: skip
    assert {"function": "libc.so.6", "share": 0.2} in top["self"]
    assert top["agent_innermost"] == [
        {"function": "_accept_unguarded (vosk.py:169)", "share": 0.6},
        {"function": "_accept_unguarded (vosk.py:165)", "share": 0.2},
        {"function": "(outside ari_agent)", "share": 0.2},
    ]
