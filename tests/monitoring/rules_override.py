"""Faster copies of the shipped rule files, for tests that cannot wait an hour.

An end-to-end test runs the daemon with MONITOR_INTERVAL_SECONDS = 60 / factor and loads
rules whose time constants are `factor` times shorter: every `for:`, group `interval:`,
range window (`[1h]`, `[5m:1m]`), `offset`, and every number marked with a `# seconds`
comment in an expression. Counts and ratios (flapping threshold, burn-rate factors) stay
as they are, because they are measured in checks, not in seconds. Alert and record names
do not change: `integration:check_availability:ratio_rate5m` then covers 5 checks, not
5 minutes.
"""

import copy
import re
from pathlib import Path
from typing import Any

import yaml

_UNIT_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000}
_UNIT_MS |= {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_DURATION = r"(?:\d+(?:ms|[ywdhms]))+"
_DURATION_PART = re.compile(r"(\d+)(ms|[ywdhms])")
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")
_OFFSET = re.compile(rf"\boffset(\s+)(-?)({_DURATION})")
_MARKED_SECONDS = re.compile(r"(\d+(?:\.\d+)?)(\s*#\s*seconds\b)")
_DURATION_KEYS = ("for", "keep_firing_for")


def parse_duration_ms(text: str) -> int:
    """Return a Prometheus duration such as `1h30m` in milliseconds."""
    if not re.fullmatch(_DURATION, text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(text))


def format_duration_ms(total_ms: int) -> str:
    """Return milliseconds as a Prometheus duration, largest units first (`1h12m`)."""
    if total_ms == 0:
        return "0s"
    parts = []
    for unit in ("h", "m", "s", "ms"):
        count, total_ms = divmod(total_ms, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def scale_duration(text: str, factor: int) -> str:
    """Divide one duration by `factor`; refuse results finer than a millisecond."""
    total_ms = parse_duration_ms(text)
    if total_ms % factor:
        raise ValueError(f"{text} / {factor} is not a whole number of milliseconds")
    return format_duration_ms(total_ms // factor)


def scale_expression(expr: str, factor: int) -> str:
    """Scale the range windows, offsets and `# seconds` numbers of a PromQL text."""

    def window(match: re.Match[str]) -> str:
        scaled = scale_duration(match.group(1), factor)
        if match.group(0).find(":") < 0:
            return f"[{scaled}]"
        step = match.group(2)
        return f"[{scaled}:{scale_duration(step, factor) if step else ''}]"

    def offset(match: re.Match[str]) -> str:
        return f"offset{match.group(1)}{match.group(2)}{scale_duration(match.group(3), factor)}"

    def seconds(match: re.Match[str]) -> str:
        return f"{float(match.group(1)) / factor:g}{match.group(2)}"

    expr = _RANGE.sub(window, expr)
    expr = _OFFSET.sub(offset, expr)
    return _MARKED_SECONDS.sub(seconds, expr)


def _scale_rule(rule: dict[str, Any], factor: int) -> None:
    rule["expr"] = scale_expression(rule["expr"], factor)
    for key in _DURATION_KEYS:
        if key in rule:
            rule[key] = scale_duration(str(rule[key]), factor)
    # Annotation templates may hold queries too (IntegrationError looks up its reasons).
    for name, text in rule.get("annotations", {}).items():
        rule["annotations"][name] = scale_expression(text, factor)


def speed_up_rule_groups(rule_file: dict[str, Any], factor: int) -> dict[str, Any]:
    """Return a copy of a parsed rule file whose time constants are `factor` times shorter.

    Args:
        rule_file: the parsed YAML of a Prometheus rule file (`{"groups": [...]}`).
        factor: a positive whole number; 60 turns minutes into seconds.

    Raises:
        ValueError: if `factor` is not positive or a duration does not divide evenly
            into whole milliseconds.
    """
    if factor < 1:
        raise ValueError(f"factor must be a positive whole number, not {factor}")
    fast = copy.deepcopy(rule_file)
    for group in fast["groups"]:
        if "interval" in group:
            group["interval"] = scale_duration(str(group["interval"]), factor)
        for rule in group["rules"]:
            _scale_rule(rule, factor)
    return fast


def write_fast_rule_files(source_dir: Path, target_dir: Path, factor: int) -> list[Path]:
    """Write sped-up copies of every `*.yml` rule file of `source_dir` into `target_dir`."""
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(source_dir.glob("*.yml")):
        fast = speed_up_rule_groups(yaml.safe_load(source.read_text(encoding="utf-8")), factor)
        target = target_dir / source.name
        target.write_text(yaml.safe_dump(fast, sort_keys=False), encoding="utf-8")
        written.append(target)
    return written
