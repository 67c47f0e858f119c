"""`laconic train`: one flag per `TrainingConfig` field, on top of a preset and a YAML file.

Flags are generated from the dataclass (their help is the field's one-line
comment), so a new knob is a flag the moment it exists. Precedence:
``--preset`` < ``--config file.yaml`` < explicit flags.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from typing import Any, Optional

import typer

_HELP = """Train a LACONIC sparse encoder (phase 1: weak pairs; phase 2: hard negatives).

Examples:

  laconic train --preset laconic-1b-phase1 --model meta-llama/Llama-3.2-1B --train-data pairs.jsonl --output-dir runs/p1

  accelerate launch --config_file configs/accelerate/fsdp.yaml -m laconic train --preset laconic-8b-phase2 ...
"""


def _field_help() -> dict[str, str]:
    """The trailing ``# comment`` of each field in TrainingConfig's source."""
    from laconic.training.config import TrainingConfig

    source = inspect.getsource(TrainingConfig)
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s+(\w+): [^=]+=.*?#\s*(.+)$", source, re.M)}


def _option_type(hint: Any) -> Any:
    if typing.get_origin(hint) is list:
        return Optional[str]  # comma-separated
    return Optional[hint]


def _build_command():
    from laconic.training.config import TrainingConfig

    hints = typing.get_type_hints(TrainingConfig)
    helps = _field_help()
    params = [
        inspect.Parameter("preset", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                          default=typer.Option(None, "--preset", help="Named recipe (see --list-presets).")),
        inspect.Parameter("config_file", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                          default=typer.Option(None, "--config", help="YAML/JSON file of option: value (overrides the preset).")),
        inspect.Parameter("print_config", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--print-config", help="Print the resolved config as YAML and exit.")),
        inspect.Parameter("list_presets", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--list-presets", help="List the preset names and exit.")),
    ]
    names = []
    for f in dataclasses.fields(TrainingConfig):
        hint = hints[f.name]
        flag = "--" + f.name.replace("_", "-")
        decls = [f"{flag}/--no-{flag[2:]}"] if hint is bool else [flag]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        text = f"{helps.get(f.name, '')} [default: {','.join(default) if isinstance(default, list) else default}]"
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=_option_type(hint),
                                        default=typer.Option(None, *decls, help=text, show_default=False)))
        names.append(f.name)

    def command(**kwargs: Any) -> None:
        from laconic.training.config import resolve_config
        from laconic.training.presets import preset_names

        if kwargs.pop("list_presets"):
            typer.echo("\n".join(preset_names()))
            return
        preset, config_file, show = kwargs.pop("preset"), kwargs.pop("config_file"), kwargs.pop("print_config")
        config = resolve_config(preset, config_file, {k: kwargs[k] for k in names})
        if show:
            import yaml

            typer.echo(yaml.safe_dump(config.to_dict(), sort_keys=False), nl=False)
            return
        from laconic.training.loop import train

        out = train(config)
        typer.echo(f"trained: {out}/final (an encoder: laconic eval --model {out}/final; "
                   f"fold LoRA in with: laconic merge {out} --output {out}-merged)")

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = _HELP
    return command


def register(app: typer.Typer) -> None:
    """Add ``laconic train``."""
    app.command("train", help=_HELP)(_build_command())
