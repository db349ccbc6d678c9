"""``resynergy data synth``: write a synthetic scenario of N sites (for scale tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resynergy.cli import console
from resynergy.cli.console import Lang, say


def synth(
    out_dir: Annotated[Path, typer.Argument(help="Output folder (created)")],
    sites: Annotated[int, typer.Option("--sites", "-n", min=10, help="Number of sites")] = 300,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed")] = 0,
    lang: Annotated[Lang, typer.Option("--lang", help="zh | en")] = Lang.zh,
) -> None:
    """Write a valid synthetic scenario with N sites and the region's structure (CSV folder)."""
    from resynergy import synth as generator

    if out_dir.exists() and any(out_dir.iterdir()):
        console.err.print(say(lang, f"[red]输出目录非空：{out_dir}[/]", f"[red]Output folder is not empty: {out_dir}[/]"))
        raise typer.Exit(2)
    path = generator.write(sites, seed, out_dir)
    console.out.print(say(lang, f"已写入合成情景（{sites} 个站点，种子 {seed}）：{path}",
                  f"Wrote a synthetic scenario ({sites} sites, seed {seed}): {path}"))
