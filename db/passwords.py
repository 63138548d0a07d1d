"""Argon2id password hashes (argon2-cffi), computed off the event loop.

One hash takes about 120 ms of CPU (and 64 MiB): run inside an async handler it would stall every other
request of the process, so a burst of log-ins from a few dozen addresses would stop a web replica. Hashes
run on a small thread pool of their own instead (argon2-cffi releases the GIL while it works): the event loop
keeps serving, and at most `HASH_THREADS` hashes run at once, which also bounds their memory; more wait in
the pool's queue rather than in the default executor that other work shares.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASH_THREADS = max(2, min(4, os.cpu_count() or 2))

_hasher = PasswordHasher()
_threads = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="argon2")


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """A new Argon2id hash of `password` (a fresh salt each time)."""
    return await asyncio.get_running_loop().run_in_executor(_threads, _hasher.hash, password)


async def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash (False for a malformed hash)."""
    return await asyncio.get_running_loop().run_in_executor(_threads, _verify, stored, password)


async def waste_time(password: str) -> None:
    """The work of a check for a user who does not exist, so that the answer takes as long either way."""
    await hash_password(password)
