"""`ari-agent replay`: run cases offline (default) or through Asterisk (--live), print and write the report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from ari_agent.config import Settings
from ari_agent.replay.case import CaseError, find_cases, load_case
from ari_agent.replay.offline import Engines, run_case_offline
from ari_agent.replay.report import CaseResult, aggregate, judge, malformed, summary, table, write_json

_LOGGER = logging.getLogger(__name__)


class StackNotReady(Exception):
    """A service the offline runs need (Rasa, PostgreSQL) does not answer; the message says which and why."""


async def _database_not_ready_reason(dsn: str) -> str | None:
    import psycopg

    from ari_agent.store.migrate import safe_dsn

    try:
        async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=5) as conn:
            await conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {safe_dsn(dsn)}: {first}"
    return None


@contextlib.asynccontextmanager
async def offline_engines(settings: Settings) -> AsyncIterator[Engines]:
    """The real Vosk model, Rasa client and prompt cache, loaded once for all cases."""
    from ari_agent.app import make_tts
    from ari_agent.asr.vosk import VoskEngine
    from ari_agent.dialogue.rasa import RasaDialogue
    from ari_agent.tts.cache import PromptCache

    rasa = RasaDialogue(
        settings.dialogue.rasa_url, timeout=settings.dialogue.timeout_seconds, auth_token=settings.dialogue.token()
    )
    try:
        # Checked before any call starts: a service that is down would otherwise fail every call with a traceback.
        reasons = [
            r
            for r in (
                await rasa.not_ready_reason(),
                await _database_not_ready_reason(settings.database.dsn),
            )
            if r is not None
        ]
        if reasons:
            raise StackNotReady(
                f"not ready: {'; '.join(reasons)}. Start the local stack with `make up` (or point "
                "ARI_AGENT_DIALOGUE_RASA_URL / ARI_AGENT_DATABASE_DSN at running services)"
            )
        asr = VoskEngine(
            settings.asr.vosk_model_path,
            sample_rate=settings.asr.sample_rate,
            expectation_hints=settings.asr.expectation_hints,
            alternatives=settings.asr.alternatives,
            beam=settings.asr.beam,
            max_active=settings.asr.max_active,
        )
        prompts = PromptCache(make_tts(settings), Path(settings.tts.cache_dir), settings.tts.asterisk_sound_dir)
        yield Engines(settings=settings, asr=asr, dialogue=rasa, prompts=prompts)
    finally:
        await rasa.close()


async def replay(
    settings: Settings, paths: list[Path], *, report: Path | None = None, live: bool = False, jobs: int = 1
) -> int:
    """Replay every case under `paths`; prints the table and aggregate; 0 only if every case passes.

    Offline cases are independent conversations with their own booking scope, so `jobs` of them may run at
    once (the Vosk decoding of one overlaps the Rasa turn of another); live ones share one Stasis app and run
    one at a time.
    """
    try:
        directories = find_cases(paths)
    except CaseError as exc:
        print(f"replay: {exc}")
        return 2
    started = time.perf_counter()
    runner: Callable[[Path], Awaitable[CaseResult]]
    async with contextlib.AsyncExitStack() as stack:
        if live:
            runner = await _live_runner(settings, stack)
        else:
            try:
                engines = await stack.enter_async_context(offline_engines(settings))
            except StackNotReady as exc:
                print(f"replay: {exc}")
                return 2

            async def runner_offline(case_dir: Path) -> CaseResult:
                case = load_case(case_dir)
                return judge(case, await run_case_offline(case, engines))

            runner = runner_offline
        slots = asyncio.Semaphore(1 if live else jobs)

        async def run_one(directory: Path) -> CaseResult:
            async with slots:
                try:
                    result = await runner(directory)
                except CaseError as exc:
                    result = malformed(directory, str(exc))
            extra = f" ({result.diff[0]})" if result.diff and result.status != "pass" else ""
            print(
                f"  {result.status.upper():<13} {result.case}  audio {result.audio_s:.1f} s wall {result.wall_s:.1f} s"
                f"{extra}",
                flush=True,
            )
            return result

        # Printed as they finish; the table and the report keep the cases' order.
        results = list(await asyncio.gather(*(run_one(d) for d in directories)))
    wall = time.perf_counter() - started
    agg = aggregate(results, wall)
    agg["mode"] = "live" if live else "offline"
    print()
    print(table(results))
    print()
    print(summary(agg))
    if report is not None:
        write_json(report, results, agg)
        print(f"report written to {report}")
    return 0 if agg["all_passed"] else 1


async def _live_runner(settings: Settings, stack: contextlib.AsyncExitStack) -> Callable[[Path], Awaitable[CaseResult]]:
    from ari_agent.app import Agent
    from ari_agent.demo import CallerVoice
    from ari_agent.replay.live import run_case_live

    agent = await stack.enter_async_context(Agent(settings, serve_http=False))
    assert agent.listener is not None
    async with asyncio.timeout(15):
        await agent.listener.connected.wait()
    voice = CallerVoice(settings)

    async def runner_live(case_dir: Path) -> CaseResult:
        case = load_case(case_dir)
        return judge(case, await run_case_live(case, agent, voice))

    return runner_live
