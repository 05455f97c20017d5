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

DEFAULT_MANIFEST = Path("resources/datasets.yaml")
DEFAULT_DEST = Path("resources/data")


def _format_table(rows: list[tuple[str, ...]]) -> str:
    """Left-align `rows` (the first one is the header) in columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def _cmd_resources_list(args: argparse.Namespace) -> int:
    from neuroflow.resources import load_manifest

    manifest = load_manifest(args.manifest)
    rows = [("dataset", "distribution", "files", "licence")]
    for ds_id, ds in manifest["datasets"].items():
        dist = manifest["distributions"][ds["distribution"]]
        licence = ds.get("licence", dist.get("licence", "-"))
        rows.append((ds_id, f"{ds['distribution']}=={dist['version']}",
                     str(len(ds["files"])), str(licence)))
    for ds_id, entry in manifest["local"].items():
        rows.append((ds_id, "local", "1", str(entry.get("licence", "-"))))
    print(_format_table(rows))
    return 0


def _cmd_resources_fetch(args: argparse.Namespace) -> int:
    from neuroflow.resources import dataset_ids, fetch_dataset, load_manifest

    manifest = load_manifest(args.manifest)
    for ds_id in args.datasets or dataset_ids(manifest):
        paths = fetch_dataset(manifest, ds_id, args.dest, cache_dir=args.cache)
        print(f"{ds_id}: " + "; ".join(str(p) for p in paths), flush=True)
    return 0


def _cmd_resources_verify(args: argparse.Namespace) -> int:
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
    common.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST,
                        help="dataset manifest (default: %(default)s)")
    on_disk = argparse.ArgumentParser(add_help=False)
    on_disk.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                         help="where datasets are materialized (default: %(default)s)")
    on_disk.add_argument("datasets", nargs="*", metavar="DATASET",
                         help="dataset ids (default: all)")
    commands.add_parser("list", parents=[common], help="list the datasets of the manifest"
                        ).set_defaults(handler=_cmd_resources_list)
    fetch = commands.add_parser("fetch", parents=[common, on_disk],
                                help="download (into a cache), extract and verify datasets")
    fetch.add_argument("--cache", type=Path, default=None,
                       help="download cache (default: $NEUROFLOW_CACHE or ~/.cache/neuroflow)")
    fetch.set_defaults(handler=_cmd_resources_fetch)
    commands.add_parser("verify", parents=[common, on_disk],
                        help="re-hash the materialized files and report mismatches"
                        ).set_defaults(handler=_cmd_resources_verify)


COMMAND_GROUPS = (add_resources_commands,)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``neuroflow`` argument parser with every group of :data:`COMMAND_GROUPS`."""
    parser = argparse.ArgumentParser(prog="neuroflow", description="neuroflow: a declarative "
                                     "Snakemake pipeline for computational neuroscience")
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
    args = build_parser().parse_args(argv)
    from neuroflow.resources import ChecksumError, ManifestError

    try:
        return args.handler(args)
    except (ManifestError, ChecksumError, RuntimeError, OSError) as exc:
        print(f"neuroflow: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
