"""The embedded PostgreSQL + PostGIS cluster used by `make run` and by the test suite.

A private cluster under ``base_dir`` (PGDATA in ``postgres/``, sockets in ``run/``), listening
on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root every server-side command runs
as the unprivileged ``postgres`` system user that Debian's package creates.
"""

import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
SUPERUSER = "frontline"
DATABASE = "frontline"
EXTENSIONS = ("postgis", "pg_trgm", "unaccent", "btree_gist")
MIN_VERSION = 14
INSTALL_HINT = (
    "install PostgreSQL >= 14 with PostGIS, e.g. `sudo apt-get install postgresql-postgis`"
)


class DevDbError(RuntimeError):
    """The embedded cluster cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Cluster:
    base_dir: Path
    port: int
    user: str
    password: str
    database: str

    def url(self, database: str | None = None) -> str:
        name = database or self.database
        return f"postgresql+asyncpg://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"


def _has_postgis(bindir: Path) -> bool:
    share = Path("/usr/share/postgresql") / bindir.parent.name / "extension"
    tools = all((bindir / tool).exists() for tool in ("postgres", "initdb", "pg_ctl", "psql"))
    return tools and (share / "postgis.control").exists()


def _candidates() -> list[Path]:
    found = []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = [p for p in root.iterdir() if p.name.isdigit() and int(p.name) >= MIN_VERSION]
        found += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()))
    return found


def find_bindir() -> Path:
    """The newest PostgreSQL (>= 14) whose server binaries and PostGIS are installed."""
    for bindir in _candidates():
        if _has_postgis(bindir):
            return bindir
    raise DevDbError(f"no PostgreSQL server with PostGIS found: {INSTALL_HINT}")


def _as_server_user() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], *, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL tool, as the postgres user when we are root."""
    if _as_server_user():
        args = ["runuser", "-u", SERVER_USER, "--", *args]
    result = subprocess.run(
        args, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise DevDbError(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout}")
    return result.stdout


def _paths(base_dir: Path) -> tuple[Path, Path, Path]:
    return base_dir / "postgres", base_dir / "run", base_dir / "postgres.log"


def give_to_server_user(*paths: Path) -> None:
    """Make ``paths`` the server user's when we run as root (the server runs as that user)."""
    if not _as_server_user():
        return
    owner = pwd.getpwnam(SERVER_USER)
    for path in paths:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _prepare_dirs(base_dir: Path) -> None:
    """Make the directories, owned by the server user, reachable through every ancestor."""
    data, run, _ = _paths(base_dir)
    for path in (base_dir, run):
        path.mkdir(parents=True, exist_ok=True)
    if not _as_server_user():
        return
    give_to_server_user(base_dir, run, *([data] if data.exists() else []))
    for ancestor in base_dir.resolve().parents:
        mode = ancestor.stat().st_mode
        if not mode & 0o001:
            os.chmod(ancestor, mode | 0o001)
            print(f"devdb: allowed '{SERVER_USER}' to pass through {ancestor} (o+x)")


def _initdb(bindir: Path, base_dir: Path) -> None:
    data, _, _ = _paths(base_dir)
    password = secrets.token_urlsafe(18)
    pwfile = base_dir / "password"
    pwfile.write_text(password)
    pwfile.chmod(0o600)
    give_to_server_user(pwfile)
    _run([
        str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C.UTF-8",
        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
    ])  # fmt: skip


def _postmaster_port(base_dir: Path) -> int | None:
    pidfile = _paths(base_dir)[0] / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None


def is_running(base_dir: Path) -> bool:
    data = _paths(base_dir)[0]
    if not data.exists():
        return False
    try:
        bindir = find_bindir()
    except DevDbError:
        return False
    args = [str(bindir / "pg_ctl"), "-D", str(data), "status"]
    if _as_server_user():
        args = ["runuser", "-u", SERVER_USER, "--", *args]
    return subprocess.run(args, capture_output=True, check=False).returncode == 0


def _start_server(bindir: Path, base_dir: Path, port: int, ephemeral: bool) -> None:
    data, run, log = _paths(base_dir)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {run}"
    if ephemeral:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    try:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
              "-t", "60", "start"])  # fmt: skip
    except DevDbError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        hint = ""
        if "already in use" in tail or "could not bind" in tail:
            hint = f" Port {port} is taken: set FRONTLINE_DB_PORT to a free port."
        raise DevDbError(f"{exc}.{hint}\n{tail}") from None


def _psql(bindir: Path, cluster: Cluster, sql: str, database: str = "postgres") -> str:
    run = _paths(cluster.base_dir)[1]
    return _run([
        str(bindir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(run),
        "-p", str(cluster.port), "-U", cluster.user, "-d", database, "-c", sql,
    ])  # fmt: skip


def run_sql(cluster: Cluster, sql: str, database: str | None = None) -> str:
    """Run SQL through the cluster's own psql over its socket; returns unaligned output."""
    return _psql(find_bindir(), cluster, sql, database or "postgres")


def start(base_dir: Path, port: int, *, ephemeral: bool = False) -> Cluster:
    """Initialise (once) and start (if stopped) the cluster; idempotent and quick when running."""
    base_dir = base_dir.resolve()
    bindir = find_bindir()
    data = _paths(base_dir)[0]
    _prepare_dirs(base_dir)
    if not (data / "PG_VERSION").exists():
        _initdb(bindir, base_dir)
    running_port = _postmaster_port(base_dir) if is_running(base_dir) else None
    if running_port is None:
        _start_server(bindir, base_dir, port, ephemeral)
        running_port = port
    cluster = Cluster(base_dir, running_port, SUPERUSER, _password(base_dir), DATABASE)
    _wait_ready(bindir, cluster)
    if not database_exists(cluster, DATABASE):
        create_database(cluster, DATABASE)
    return cluster


def _password(base_dir: Path) -> str:
    return (base_dir / "password").read_text().strip()


def _wait_ready(bindir: Path, cluster: Cluster, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _psql(bindir, cluster, "SELECT 1")
            return
        except DevDbError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(base_dir: Path, mode: str = "fast") -> None:
    """Shut down (``mode`` "immediate": as if the host died); nothing to do when stopped."""
    base_dir = base_dir.resolve()
    if is_running(base_dir):
        _run([str(find_bindir() / "pg_ctl"), "-D", str(_paths(base_dir)[0]), "-m", mode,
              "-w", "stop"])  # fmt: skip


def status(base_dir: Path) -> str:
    base_dir = base_dir.resolve()
    data = _paths(base_dir)[0]
    if not data.exists():
        return f"not initialised ({data})"
    if is_running(base_dir):
        return f"running on 127.0.0.1:{_postmaster_port(base_dir)} (data in {data})"
    return f"stopped (data in {data})"


def database_exists(cluster: Cluster, name: str) -> bool:
    found = run_sql(cluster, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    return found.strip() == "1"


def create_database(cluster: Cluster, name: str, template: str | None = None) -> None:
    """CREATE DATABASE, cloned from ``template`` or fresh with the extensions installed."""
    bindir = find_bindir()
    clause = f' TEMPLATE "{template}"' if template else ""
    _psql(bindir, cluster, f'CREATE DATABASE "{name}"{clause}')
    if template is None:
        for extension in EXTENSIONS:
            _psql(bindir, cluster, f"CREATE EXTENSION IF NOT EXISTS {extension}", name)


def drop_database(cluster: Cluster, name: str) -> None:
    _psql(find_bindir(), cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_standby(primary: Cluster, base_dir: Path, port: int) -> Cluster:
    """A streaming standby of ``primary`` in ``base_dir``: copied once with `pg_basebackup -R`
    (which writes standby.signal and primary_conninfo), then started like any cluster."""
    base_dir = base_dir.resolve()
    data = _paths(base_dir)[0]
    _prepare_dirs(base_dir)
    if not (data / "PG_VERSION").exists():
        password = base_dir / "password"
        shutil.copy(primary.base_dir / "password", password)
        give_to_server_user(password)
        # -c fast: checkpoint now, rather than wait for a spread one (minutes)
        _run([str(find_bindir() / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream",
              "-c", "fast", "-h", "127.0.0.1", "-p", str(primary.port), "-U", primary.user],
             env={"PGPASSWORD": primary.password})  # fmt: skip
    return start(base_dir, port)


def promote(base_dir: Path) -> None:
    """Make a standby the primary (`pg_ctl promote`, as an operator or Patroni would)."""
    _run([str(find_bindir() / "pg_ctl"), "-D", str(_paths(base_dir.resolve())[0]), "-w",
          "promote"])  # fmt: skip
