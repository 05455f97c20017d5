"""Command-line interface: ``neuroflow <group> <command> ...``.

Each command group is added by a function ``add_<group>_commands(groups)`` that receives
the sub-parsers object of the top-level parser and gives every leaf command a
``handler(args) -> int`` through ``set_defaults``. To add a group, write such a function
and append it to :data:`COMMAND_GROUPS`; import heavy modules inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuroflow import __version__


def _default_manifest() -> Path:
    from neuroflow.workflow_files import workflow_root

    local = Path("resources/datasets.yaml")
    return local if local.is_file() else workflow_root() / "resources" / "datasets.yaml"


DEFAULT_DEST = Path("resources/data")


def _format_table(rows: list[tuple[str, ...]]) -> str:
    """Left-align `rows` (the first one is the header) in columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def _cmd_resources_list(args: argparse.Namespace) -> int:
    args.manifest = args.manifest or _default_manifest()
    from neuroflow.resources import load_manifest

    manifest = load_manifest(args.manifest)
    rows = [("dataset", "distribution", "files", "licence")]
    for ds_id, ds in manifest["datasets"].items():
        dist = manifest["distributions"][ds["distribution"]]
        licence = ds.get("licence", dist.get("licence", "-"))
        rows.append((ds_id, f"{ds['distribution']}=={dist['version']}", str(len(ds["files"])), str(licence)))
    for ds_id, entry in manifest["local"].items():
        rows.append((ds_id, "local", "1", str(entry.get("licence", "-"))))
    print(_format_table(rows))
    return 0


def _cmd_resources_fetch(args: argparse.Namespace) -> int:
    args.manifest = args.manifest or _default_manifest()
    from neuroflow.resources import dataset_ids, fetch_dataset, load_manifest

    manifest = load_manifest(args.manifest)
    for ds_id in args.datasets or dataset_ids(manifest):
        paths = fetch_dataset(manifest, ds_id, args.dest, cache_dir=args.cache)
        print(f"{ds_id}: " + "; ".join(str(p) for p in paths), flush=True)
    return 0


def _cmd_resources_verify(args: argparse.Namespace) -> int:
    args.manifest = args.manifest or _default_manifest()
    from neuroflow.resources import dataset_ids, load_manifest, verify_dataset

    manifest = load_manifest(args.manifest)
    ids = args.datasets or dataset_ids(manifest)
    problems = [p for ds_id in ids for p in verify_dataset(manifest, ds_id, args.dest)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"verified {len(ids)} dataset(s): {len(problems)} problem(s)")
    return 1 if problems else 0


def add_resources_commands(groups) -> None:
    """Add ``resources list|fetch|verify`` to the top-level sub-parsers `groups`."""
    group = groups.add_parser("resources", help="list, fetch and verify the embedded datasets")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="dataset manifest (default: resources/datasets.yaml here, else the installed workflow's)",
    )
    on_disk = argparse.ArgumentParser(add_help=False)
    on_disk.add_argument(
        "--dest",
        type=Path,
        default=DEFAULT_DEST,
        help="where datasets are materialized (default: %(default)s)",
    )
    on_disk.add_argument("datasets", nargs="*", metavar="DATASET", help="dataset ids (default: all)")
    commands.add_parser("list", parents=[common], help="list the datasets of the manifest").set_defaults(
        handler=_cmd_resources_list
    )
    fetch = commands.add_parser(
        "fetch", parents=[common, on_disk], help="download (into a cache), extract and verify datasets"
    )
    fetch.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="download cache (default: $NEUROFLOW_CACHE or ~/.cache/neuroflow)",
    )
    fetch.set_defaults(handler=_cmd_resources_fetch)
    commands.add_parser(
        "verify", parents=[common, on_disk], help="re-hash the materialized files and report mismatches"
    ).set_defaults(handler=_cmd_resources_verify)


def _stages_to_activate(args: argparse.Namespace, overlay: dict) -> dict:
    """``{stage: {"activate": True}}`` for ``--stages`` (or, with ``auto``, the stages whose
    inputs the dataset holds), leaving alone a stage whose ``activate`` a cohort file sets."""
    import yaml

    from neuroflow.bids import DETECTABLE_STAGES, Selection, detect_stages

    if args.stages != ["auto"]:
        return {s: {"activate": True} for s in args.stages}
    chosen = {}
    for path in args.config:
        chosen.update(
            {
                k: v
                for k, v in (yaml.safe_load(Path(path).read_text()) or {}).items()
                if isinstance(v, dict) and "activate" in v
            }
        )
    if all(stage in chosen for stage in DETECTABLE_STAGES):  # nothing left to detect
        return {}
    found = detect_stages(Selection.from_config(overlay))
    print(f"neuroflow: inputs found for stage(s): {', '.join(found) or 'none'}", file=sys.stderr)
    sections = {s: {"activate": True} for s in found if s not in chosen}
    if "activity" in sections:  # NWB files: the activity stage's BIDS route reads them
        sections["activity"]["bids"] = {"activate": True}
    return sections


def _run_overlay(args: argparse.Namespace) -> dict:
    """The config keys the BIDS-app arguments set (absolute paths; the cohort file's other
    keys stand)."""
    overlay = {
        "bids_dir": str(Path(args.bids_dir).resolve()),
        "results_dir": str(Path(args.output_dir).resolve()),
        "analysis_level": args.analysis_level,
    }
    if args.derivatives:
        overlay["derivatives"] = [str(Path(d).resolve()) for d in args.derivatives]
    if args.participant_label:
        overlay["participant_label"] = list(args.participant_label)
    if args.exclude_participant_label:
        overlay["exclude_participant_label"] = list(args.exclude_participant_label)
    for key in ("sessions", "runs", "tasks"):
        if getattr(args, key):
            overlay[key] = list(getattr(args, key))
    overlay.update(_stages_to_activate(args, overlay))
    return overlay


def snakemake_command(args: argparse.Namespace) -> tuple[list[str], Path]:
    """The ``snakemake`` command line of ``neuroflow run`` and the folder it runs in.

    In a checkout Snakemake runs in the repository (as from the shell); an installed
    package's workflow is copied into ``--work-dir`` first. The BIDS-app arguments go into
    an overlay config file written beside the outputs' logs, layered last.
    """
    import yaml

    from neuroflow.workflow_files import is_checkout, materialize, workflow_root

    root = workflow_root()
    if is_checkout(root) and args.work_dir is None:
        workdir = root
    else:
        workdir = materialize(Path(args.work_dir or "neuroflow_work").resolve())
    out = Path(args.output_dir).resolve()
    overlay_file = out / "logs" / f"neuroflow-run_{args.analysis_level}.yaml"
    overlay_file.parent.mkdir(parents=True, exist_ok=True)
    overlay_file.write_text(yaml.safe_dump(_run_overlay(args), sort_keys=False))
    configfiles = [str(Path(c).resolve()) for c in args.config] + [str(overlay_file)]
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(workdir / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        str(args.cores),
        "--configfile",
        *configfiles,
    ]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    if args.dry_run:
        cmd.append("--dry-run")
    if args.keep_going:
        cmd.append("--keep-going")
    return cmd + list(getattr(args, "snakemake_args", [])), workdir


def _cmd_run(args: argparse.Namespace) -> int:
    import subprocess

    from neuroflow.config import ConfigError, check_yaml_files

    try:  # snakemake's own message for a YAML error names neither the file nor the line
        check_yaml_files(args.config)
    except ConfigError as exc:
        print(f"neuroflow: error: {exc}", file=sys.stderr)
        return 1
    cmd, workdir = snakemake_command(args)
    print("neuroflow: " + " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=workdir).returncode


def add_run_command(groups) -> None:
    """Add the BIDS-app command ``run BIDS_DIR OUTPUT_DIR {participant,group}``."""
    run = groups.add_parser(
        "run",
        help="run the workflow on a BIDS dataset (BIDS-app interface)",
        description="Run every activated stage of the cohort config on BIDS_DIR, writing "
        "BIDS derivatives to OUTPUT_DIR. 'participant' builds the per-subject "
        "outputs, 'group' everything (also the group-level stages). Arguments "
        "after -- go to snakemake as they are.",
    )
    run.add_argument("bids_dir", help="BIDS dataset root (with dataset_description.json)")
    run.add_argument("output_dir", help="output folder (BIDS derivatives)")
    run.add_argument("analysis_level", choices=["participant", "group"])
    run.add_argument(
        "--participant-label",
        "--participant_label",
        nargs="+",
        default=[],
        metavar="LABEL",
        help="participants to process (with or without sub-)",
    )
    run.add_argument("--exclude-participant-label", nargs="+", default=[], metavar="LABEL")
    run.add_argument("--session", dest="sessions", nargs="+", default=[], metavar="LABEL")
    run.add_argument("--run", dest="runs", nargs="+", default=[], metavar="INDEX")
    run.add_argument("--task", dest="tasks", nargs="+", default=[], metavar="LABEL")
    run.add_argument(
        "--derivatives",
        nargs="+",
        default=[],
        metavar="DIR",
        help="BIDS-derivatives folders to read (fMRIPrep, XCP-D, ...)",
    )
    run.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="COHORT_YAML",
        help="cohort config file(s) layered over config/config.yaml (stages, settings); repeatable",
    )
    run.add_argument(
        "--stages",
        nargs="+",
        default=["auto"],
        metavar="STAGE",
        help="stages to switch on (default auto: those whose inputs the dataset "
        "holds -- eeg, activity, fmri -- unless a --config file sets them)",
    )
    run.add_argument("--profile", default=None, help="Snakemake profile (e.g. profiles/slurm)")
    run.add_argument("--cores", default="all", help="CPU cores (default: all)")
    run.add_argument(
        "--work-dir",
        default=None,
        help="where an installed workflow runs (default: ./neuroflow_work; a checkout runs in place)",
    )
    run.add_argument("--dry-run", "-n", action="store_true", help="list the jobs only")
    run.add_argument(
        "--keep-going",
        action="store_true",
        help="go on with independent jobs when one fails (other subjects); the default profile already does",
    )
    run.set_defaults(handler=_cmd_run)


COMMAND_GROUPS = (add_resources_commands, add_run_command)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``neuroflow`` argument parser with every group of :data:`COMMAND_GROUPS`."""
    parser = argparse.ArgumentParser(
        prog="neuroflow",
        description="neuroflow: a declarative Snakemake pipeline for computational neuroscience",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for add_commands in COMMAND_GROUPS:
        add_commands(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: ``sys.argv[1:]``); return the exit status.

    Expected failures (bad manifest, checksum mismatch, failed download, I/O error) are
    printed as one ``neuroflow: error: ...`` message on stderr with exit status 1.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:  # `neuroflow run ... -- --forcerun x`: the rest goes to snakemake
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    args.snakemake_args = extra
    from neuroflow.bids import BIDSInputError
    from neuroflow.resources import ChecksumError, ManifestError

    try:
        return args.handler(args)
    except (ManifestError, ChecksumError, BIDSInputError, RuntimeError, OSError) as exc:
        print(f"neuroflow: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
