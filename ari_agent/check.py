"""`ari-agent check`: probe every configured component, one line each: ok, or what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from ari_agent.ari.client import basic_auth
from ari_agent.config import Settings


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one component."""

    component: str
    ok: bool
    message: str

    def line(self) -> str:
        """One printable line."""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.component:<10} {self.message}"


async def check_ari(settings: Settings) -> CheckResult:
    """Asterisk reachable and the ARI credentials accepted."""
    ari = settings.ari
    url = ari.url.rstrip("/") + "/ari/asterisk/info"
    headers = {"Authorization": basic_auth(ari.username, ari.password)}
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=3)) as resp,
        ):
            if resp.status == 401:
                return CheckResult(
                    "asterisk",
                    False,
                    f"ARI at {ari.url} refused user {ari.username!r}: the password does not match ari.conf; "
                    "set [ari] password or ARI_AGENT_ARI_PASSWORD",
                )
            if resp.status == 404:
                return CheckResult(
                    "asterisk", False, f"{ari.url} answers but has no ARI: enable res_ari and http.conf"
                )
            if resp.status >= 400:
                return CheckResult("asterisk", False, f"ARI at {ari.url} answered HTTP {resp.status}")
            info = await resp.json()
            version = info.get("system", {}).get("version", "?")
            return CheckResult("asterisk", True, f"ARI at {ari.url}, Asterisk {version}, user {ari.username}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return CheckResult(
            "asterisk",
            False,
            f"cannot reach ARI at {ari.url} ({type(exc).__name__}): is Asterisk running with http.conf "
            "enabled on that address? (local stack: make up)",
        )


async def check_database(settings: Settings) -> CheckResult:
    """PostgreSQL reachable, credentials right, schema migrated."""
    import psycopg

    dsn = settings.database.dsn
    where = urlsplit(dsn)
    place = f"{where.hostname}:{where.port or 5432}/{where.path.lstrip('/')}"
    try:
        async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=3) as conn:
            cur = await conn.execute("select to_regclass('public.calls') is not null")
            row = await cur.fetchone()
            if not row or not row[0]:
                return CheckResult(
                    "database", False, f"PostgreSQL at {place} has no schema: run `ari-agent db upgrade`"
                )
            return CheckResult("database", True, f"PostgreSQL at {place}, schema present")
    except psycopg.OperationalError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password" in text or "authentication" in text:
            hint = "wrong user or password in [database] dsn"
        elif "does not exist" in text:
            hint = "the database or role does not exist (local stack: scripts/setup-postgres.sh)"
        else:
            hint = "is PostgreSQL running and listening there? (local stack: make up)"
        return CheckResult("database", False, f"cannot connect to PostgreSQL at {place}: {text}; {hint}")


def _token(settings: Settings) -> dict[str, str]:
    token = settings.dialogue.token()
    return {"token": token} if token else {}


async def check_rasa(settings: Settings) -> CheckResult:
    """Rasa server up with a model loaded."""
    url = settings.dialogue.rasa_url.rstrip("/")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + "/status", params=_token(settings), timeout=aiohttp.ClientTimeout(total=3)) as resp,
        ):
            if resp.status == 401:
                return CheckResult(
                    "rasa", False, f"Rasa at {url} refused the token: set [dialogue] auth_token to its --auth-token"
                )
            if resp.status >= 400:
                return CheckResult(
                    "rasa", False, f"Rasa at {url} answered HTTP {resp.status}: start it with --enable-api"
                )
            status = await resp.json()
            model = status.get("model_file") or status.get("fingerprint", {}).get("trained_at")
            if not model:
                return CheckResult("rasa", False, f"Rasa at {url} has no model loaded: train rasa_project/")
            return CheckResult("rasa", True, f"Rasa at {url}, model {Path(str(model)).name}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return CheckResult(
            "rasa",
            False,
            f"cannot reach Rasa at {url} ({type(exc).__name__}): start `rasa run --enable-api` "
            "(local stack: make up) or set [dialogue] rasa_url",
        )


def check_vosk(settings: Settings) -> CheckResult:
    """The Vosk model directory exists and looks like a model."""
    path = Path(settings.asr.vosk_model_path)
    if not path.exists():
        return CheckResult(
            "vosk",
            False,
            f"Vosk model path {path} does not exist: run scripts/setup-vosk.sh or set [asr] vosk_model_path "
            "(ARI_AGENT_ASR_VOSK_MODEL_PATH) to an unpacked Vosk model directory",
        )
    if not (path / "am").is_dir() or not (path / "conf").is_dir():
        return CheckResult(
            "vosk", False, f"{path} is not a Vosk model directory (expected am/ and conf/ inside it)"
        )
    from ari_agent.asr.vosk import has_runtime_grammar

    if not settings.asr.expectation_hints:
        hints = "expectation hints off ([asr] expectation_hints = false)"
    elif has_runtime_grammar(path):
        hints = "expectation hints on"
    else:
        hints = "expectation hints off: the model has no runtime-grammar graph (graph/HCLr.fst)"
    return CheckResult("vosk", True, f"Vosk model at {path}; {hints}")


def check_tts(settings: Settings) -> CheckResult:
    """The TTS engine is installed and its cache directory is writable."""
    tts = settings.tts
    if tts.engine in ("flite", "espeak"):
        binary = "flite" if tts.engine == "flite" else "espeak-ng"
        if shutil.which(binary) is None:
            return CheckResult("tts", False, f"{binary} is not installed: apt-get install {binary}")
    elif tts.engine == "coqui":
        try:
            import TTS  # noqa: F401
        except ImportError:
            hint = "pip install --require-hashes -r requirements/coqui.lock"
            return CheckResult("tts", False, f"Coqui TTS is not installed: {hint}")
        for key in ("coqui_model_path", "coqui_config_path"):
            if not Path(getattr(tts, key)).is_file():
                return CheckResult("tts", False, f"tts.{key} = {getattr(tts, key)!r} is not a file")
    cache = Path(tts.cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return CheckResult("tts", False, f"prompt cache {cache} is not writable: {exc.strerror}")
    return CheckResult("tts", True, f"{tts.engine} voice {tts.voice}, prompts in {cache}")


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Every check, concurrently where they do I/O."""
    ari, db, rasa = await asyncio.gather(check_ari(settings), check_database(settings), check_rasa(settings))
    return [ari, db, rasa, check_vosk(settings), check_tts(settings)]
