"""The `caseflag` command: serve, check, batch, data lint, data export, data release — thin wrappers."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from pathlib import Path

from ..core import config as config_module
from ..core.errors import CaseflagError, InvalidInput
from ..exports.export import EXPORT_FORMATS


def _default_workers() -> int:
    return max(2, min(8, (os.cpu_count() or 2)))


def cmd_serve(args: argparse.Namespace) -> int:
    settings = config_module.resolve({k: v for k, v in {"HOST": args.host, "PORT": args.port}.items() if v})
    from ..web.app import create_app

    if args.dev:
        from .serving import PrivateRequestHandler

        create_app(settings).run(host=settings["HOST"], port=int(settings["PORT"]), threaded=True,
                                 request_handler=PrivateRequestHandler)
        return 0
    from .serving import run_gunicorn

    return run_gunicorn(settings, workers=args.workers or _default_workers(), threads=args.threads)


def _print_summary(result: dict, out) -> None:
    verdict = result["verdict"]
    title = result["hostname_unicode"]
    if result.get("registrable_domain") and result["registrable_domain"] != result["hostname"]:
        title += f"  (registrable domain {result['registrable_domain']})"
    print(title, file=out)
    print(f"  verdict: {verdict['level'].upper()}" + (f"  [{verdict['badge']['text']}]" if verdict["badge"]["text"] else ""), file=out)
    for reason in verdict["reasons"]:
        print(f"  - {reason}", file=out)
    for match in result["matches"]:
        print(f"  {match['entity']['name']} ({match['matched_by']}, role: {match['role'] or 'none'})", file=out)
        _print_cases(match["cases"], "    ", out)
        for other in match.get("related", []):
            if other["cases"]:
                count = len(other["cases"])
                print(f"    {other['relation']}: {other['name']} (role: {other['role']}, "
                      f"{count} case{'s' if count > 1 else ''})", file=out)
                if not match["cases"]:  # the related verdict: these cases are the reason
                    _print_cases(other["cases"], "      ", out)
    infra = result["infrastructure"]
    addresses = ", ".join(infra["addresses"]) or "no addresses"
    print(f"  infrastructure: {infra['status']} ({addresses})" + (f" — {infra['reason']}" if infra["reason"] else ""), file=out)
    print(file=out)


def _print_cases(cases: list[dict], indent: str, out) -> None:
    for case in cases:
        court = f", {case['court']}" if case.get("court") else ""
        print(f"{indent}* {case['title']} — {case['date'] or 'date unknown'}, {case['status']}{court}; as {case['role']}", file=out)
        for source in case["sources"][:3]:
            where = source.get("url") or "(no address known)"
            print(f"{indent}    {source['publisher']}, {source['date'] or 'undated'} [{source['language']}]: {where}", file=out)


def cmd_check(args: argparse.Namespace) -> int:
    from ..service.lookup import create_service
    from ..service.answer import encode

    service = create_service(config_module.resolve())
    failed = 0
    for text in args.domains:
        try:
            result = service.check(text, lang=args.lang, offline=args.offline)
        except CaseflagError as err:
            failed += 1
            if not args.json:
                print(f"caseflag: {text!r}: {err.message_in(args.lang)}", file=sys.stderr)
                continue
            result = {"query": text, **err.to_dict(args.lang)}
        if args.json:  # UTF-8 bytes, whatever the console's encoding: JSON text is UTF-8
            sys.stdout.buffer.write(encode(result) + b"\n")
        else:
            _print_summary(result, sys.stdout)
    return 1 if failed else 0


def cmd_lint(args: argparse.Namespace) -> int:
    from ..data.lint import lint

    path = Path(args.path or config_module.resolve()["DATA_DIR"])
    if not path.is_dir():
        print(f"caseflag: {path} is not a folder", file=sys.stderr)
        return 2
    return _report_lint(lint(path), path)


def _report_lint(problems, folder: Path) -> int:
    """The linter's `path:line: problem` lines and its one-line verdict; the exit status (1: problems)."""
    for problem in problems:
        print(problem.format(Path.cwd()))
    if problems:
        print(f"{len(problems)} problem(s) in {folder}", file=sys.stderr)
        return 1
    print(f"{folder}: all records pass", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..data.dataset import Dataset
    from ..exports.export import write_export

    dataset = Dataset.load(args.path or config_module.resolve()["DATA_DIR"])
    with contextlib.ExitStack() as stack:
        out = (stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
               if args.output else sys.stdout)
        write_export(dataset, args.format, out)
    return 0


def cmd_import_order(args: argparse.Namespace) -> int:
    from ..data.order_import import ImportRefused, import_order

    data_dir = Path(args.path or config_module.resolve()["DATA_DIR"])
    try:
        plan, problems = import_order(Path(args.order), Path(args.schedule), data_dir, dry_run=args.dry_run)
    except ImportRefused as err:
        for problem in err.problems:
            print(problem.format(), file=sys.stderr)
        print(f"caseflag: {err.message}", file=sys.stderr)
        return 1
    for line in plan.reused + plan.left_out:
        print(line, file=sys.stderr)
    verb = "would write" if args.dry_run else "wrote"
    for path in plan.files:
        print(f"{verb} {path}")
    return _report_lint(problems, data_dir)


def cmd_release(args: argparse.Namespace) -> int:
    from ..data.dataset import Dataset
    from ..exports.release import write_release

    dataset = Dataset.load(args.path or config_module.resolve()["DATA_DIR"])
    names = write_release(dataset, args.output, previous=args.previous, date=args.date)
    print(f"{args.output}: {len(names)} files ({', '.join(names)}) for dataset {dataset.version}", file=sys.stderr)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from .batchcommand import Request, run_batch
    from ..service.lookup import create_service

    overrides = {"DNS_NAMESERVERS": args.nameserver} if args.nameserver else {}
    request = Request(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Request)})
    return run_batch(lambda: create_service(config_module.resolve(overrides)), request)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    print(f"caseflag report: {write_report(args.output_file, args.html)}", file=sys.stderr)
    return 0


def _shard(text: str) -> tuple[int, int]:
    """--shard i/n."""
    from .batchio import parse_shard

    try:
        return parse_shard(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n with 1 <= i <= n (e.g. 2/8), not {text!r}") from None


def _lang(text: str) -> str | None:
    """--lang: a language tag, held to the rule the API's `lang` keeps (limits.language)."""
    from ..web.limits import language

    try:
        return language(text)
    except InvalidInput as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _jobs(text: str) -> int | None:
    """--jobs: a number, or 'auto' (None: batch.auto_jobs decides)."""
    if text.strip().lower() == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', not {text!r}") from None


def _add_import_order(data_commands) -> None:
    order = data_commands.add_parser("import-order", help="turn a court order's schedule of sites (CSV) and its "
                                                         "case (TOML) into linted records in data/")
    order.add_argument("schedule", metavar="SCHEDULE.csv", help="one site a row: name, domains (space- or "
                                                                "semicolon-separated), optional columns")
    order.add_argument("--order", required=True, metavar="ORDER.toml", help="the case, its other parties, "
                                                                            "defaults for the sites, new sources")
    order.add_argument("--path", help="the data folder (default: the bundled data/)")
    order.add_argument("--dry-run", action="store_true", help="check and lint, print what would be written, write nothing")
    order.set_defaults(func=cmd_import_order)


def _batch_parser(commands) -> None:
    """`caseflag batch` and its options (batchcommand.Request)."""
    batch = commands.add_parser("batch", help="check a file of domains or URLs (one per line, or a CSV column) "
                                               "into JSON Lines or CSV")
    batch.add_argument("path", nargs="?", default="-", metavar="FILE",
                       help="input file; - or none reads stdin")
    batch.add_argument("--format", dest="fmt", choices=("jsonl", "csv"),
                       help="output format (default: csv for a .csv or .csv.gz --output, else jsonl)")
    batch.add_argument("--output", "-o", help="file to write (default: standard output); a name ending in .gz "
                                              "is written gzip-compressed; its summary goes beside it (.summary.json)")
    batch.add_argument("--full", action="store_true", help="JSON Lines: each record the API's full answer "
                                                           "(default: compact, cases referred to by id)")
    batch.add_argument("--concurrency", type=int, default=200, help="lookups in flight at once (default 200)")
    batch.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N|auto",
                       help="processes sharing the lines of a regular input file, the concurrency and the rate "
                            "split between them; records still come out in input order (default auto: one per "
                            "usable core, at most 4, for a file of 32 KiB or more; else 1)")
    batch.add_argument("--rate", type=float, default=None, metavar="QPS",
                       help="at most this many DNS queries a second, retries included (default 1000, or no cap "
                            "when every nameserver is on this machine; 0: no cap)")
    batch.add_argument("--retries", type=int, default=2, choices=range(0, 6), metavar="N",
                       help="ask again, with backoff, for a lookup that came back unavailable (default 2)")
    batch.add_argument("--nameserver", action="append", metavar="HOST[:PORT]",
                       help="the resolver to ask (repeatable; default CASEFLAG_DNS_NAMESERVERS or the system's)")
    batch.add_argument("--no-asn", dest="asn", action="store_false",
                       help="no origin-ASN lookups for addresses in no published range (fewer queries)")
    batch.add_argument("--resume", action="store_true", help="skip lines already in --output and append the rest; "
                                                             "refuses an output written from another input")
    batch.add_argument("--retry-unavailable", action="store_true",
                       help="with --resume: ask again for the records whose lookups failed (unavailable)")
    batch.add_argument("--shard", type=_shard, metavar="I/N",
                       help="check only lines whose number is I modulo N (from 1); line numbers are kept")
    batch.add_argument("--column", metavar="NAME", help="the input is CSV with a header row: check this column")
    batch.add_argument("--offline", action="store_true", help="no DNS: match the list only")
    batch.add_argument("--lang", type=_lang, help="preferred language of the reporting (e.g. de)")
    batch.set_defaults(func=cmd_batch)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseflag", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (nginx in front of gunicorn; --dev for Flask's server)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, or CASEFLAG_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8000, or CASEFLAG_PORT)")
    serve.add_argument("--workers", type=int, help="gunicorn worker processes (default: cores, 2..8)")
    serve.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    serve.add_argument("--dev", action="store_true", help="use Flask's development server")
    serve.set_defaults(func=cmd_serve)

    check = commands.add_parser("check", help="check domains or URLs and print what is known")
    check.add_argument("domains", nargs="+", metavar="DOMAIN")
    check.add_argument("--offline", action="store_true", help="no DNS: match the list only")
    check.add_argument("--json", action="store_true", help="one JSON object per line")
    check.add_argument("--lang", type=_lang, help="language of the reasons and texts (en or de; default en), and "
                                                  "the reporting listed first")
    check.set_defaults(func=cmd_check)

    _batch_parser(commands)

    report = commands.add_parser("report", help="turn a batch's output into a self-contained HTML summary with charts")
    report.add_argument("output_file", metavar="OUTPUT", help="a batch's output (.jsonl, .csv, optionally .gz)")
    report.add_argument("--html", metavar="FILE", help="the page to write (default: OUTPUT.report.html)")
    report.set_defaults(func=cmd_report)

    data = commands.add_parser("data", help="work with the curated list")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    lint = data_commands.add_parser("lint", help="check every record; prints path:line: problem — fix")
    lint.add_argument("path", nargs="?", help="the data folder (default: the bundled data/)")
    lint.set_defaults(func=cmd_lint)
    export = data_commands.add_parser("export", help="dump the whole list, or the extension's built-in index")
    export.add_argument("--format", choices=tuple(EXPORT_FORMATS), default="json",
                        help="extension: the compact index the browser extension ships (extension/data/index.json)")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument("--path", help="the data folder (default: the bundled data/)")
    export.set_defaults(func=cmd_export)
    _add_import_order(data_commands)
    release = data_commands.add_parser("release", help="write a citable release folder: every export, SQLite, "
                                                       "CHANGES.md and SHA256SUMS")
    release.add_argument("--output", "-o", required=True, metavar="DIR", help="the folder to write (new, empty, "
                                                                             "or an earlier release's)")
    release.add_argument("--previous", metavar="OLD_DIR", help="an earlier release folder: CHANGES.md says what changed")
    release.add_argument("--date", help="the release date, YYYY-MM-DD (default: the newest date in the records)")
    release.add_argument("--path", help="the data folder (default: the bundled data/)")
    release.set_defaults(func=cmd_release)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CaseflagError as err:
        print(f"caseflag: error: {err.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read our standard output has gone (`caseflag check … | head`): stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
