"""``ecgtool diagnose``: per-record summary and verdict (normal/abnormal/unreadable) with evidence."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c
from ecgtool.cli.rhythm import AnnLabelsOpt, AnnOpt, NoClassifyOpt


def diagnose(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="report.jsonl (one JSON "
                                      "object per record), report.csv (one row per record), "
                                      "report.h5, or - (JSON lines, the default)."),
    html: Optional[str] = typer.Option(None, "--html", help="Also write an HTML report "
                                       "with ECG strips (readable offline)."),
    csv_rows: bool = typer.Option(False, "--csv", help="One CSV row per record instead of "
                                  "JSON lines (as --out report.csv gives), e.g. on stdout."),
    hourly: Optional[str] = typer.Option(None, "--hourly", help="Also write hour-by-hour "
                                         "figures (rate, beats by class, AF time, runs, "
                                         "pauses) of each record this run analyses to "
                                         "this CSV file, or - when --out is a file."),
    threshold: Optional[list[str]] = typer.Option(
        None, "--threshold", "-t", metavar="NAME=VALUE",
        help="Override a threshold, e.g. -t pvc_burden_pct=5."),
    rhythm_setting: Optional[list[str]] = c.RhythmSettingOpt,
    ann: Optional[str] = AnnOpt,
    ann_labels: Optional[bool] = AnnLabelsOpt,
    no_classify: bool = NoClassifyOpt,
    model: Optional[str] = c.RelabelModelOpt,
    sample: bool = c.SampleOpt,
    channel: Optional[str] = c.ChannelOpt,
    second_lead: Optional[str] = c.SecondLeadOpt,
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str | None = c.UnitsOpt,
    detector: Optional[list[str]] = c.DetectorOpt,
    qrs_net: Optional[str] = c.QrsNetOpt,
    p_net: Optional[str] = c.PNetOpt,
    start: Optional[str] = c.StartOpt,
    end: Optional[str] = c.EndOpt,
    jobs: int = c.JobsOpt,
    scheduler: Optional[str] = c.SchedulerOpt,
    resume: bool = c.ResumeOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Summarise and judge each record: rate, HRV, ectopy, AF, VT, pauses, PR/QRS/QTc, noise."""
    import json
    from dataclasses import asdict

    from ecgtool import batch
    from ecgtool.batch import Outcome
    from ecgtool.cli._write import exit_code, run_and_write
    from ecgtool.cli.rhythm import analysis_job, analysis_setup, warn_unlabelled, write_analysis
    from ecgtool.diagnose import REPORT_COLUMNS, Thresholds, diagnose_analysis
    from ecgtool.hourly import HOURLY_COLUMNS, hourly_analysis, hourly_columns, stored_hours
    from ecgtool.io.tables import csv_line, json_ready

    try:
        th = Thresholds.with_overrides(c.name_values(threshold, "--threshold"))
    except ValueError as exc:
        raise c.EcgToolError(str(exc)) from None
    if html:
        c.check_output_path(html, (".html", ".htm"))
    if hourly:
        c.check_output_path(hourly, (".csv", ".txt"))
        if c.output_kind(hourly) == "stdout" and c.output_kind(out) == "stdout":
            raise c.EcgToolError("--hourly - and the report both on stdout: give --out a file")
    det = c.detector_settings(detector, qrs_net, p_net)
    settings = c.rhythm_settings(rhythm_setting)
    opts = c.read_options(channel, fs, column, units, second_lead=second_lead)
    srcs, job, model_path = analysis_setup(inputs, sample, ann, ann_labels, no_classify, model,
                                           opts, out, settings, det, formats=c.REPORT_FORMATS)
    srcs, stretch = c.stretch(srcs, start, end)
    stdin = any(s.path == "-" for s in srcs)
    items = []
    # Record name -> (analysis, report, hours), for --hourly and --html in the inputs' order.
    analysed = {}
    thresholds = json_ready(asdict(th))

    def run(todo):
        for o in batch.run(job, todo, jobs=1 if stdin else jobs, progress=not quiet,
                           label="diagnose", spawn=model_path is not None,
                           scheduler=scheduler):
            if o.ok:
                a = o.value
                # The hours go to the store and to --hourly: measured once.
                value = (a, diagnose_analysis(a, th), hourly_analysis(a, thresholds=th))
                o = Outcome(o.source, value, None, o.warnings)
                items.append(value)
                analysed[o.source.name] = value
            yield o

    def write(w, value, name):
        a, rep, hours = value
        write_analysis(w, a, name, {**rep.as_dict(), "thresholds": thresholds}, det,
                       {"hourly": hourly_columns(hours)})

    csv_file = bool(out) and out.lower().endswith(".csv")
    if csv_rows and out and not csv_file and out != "-":
        raise c.EcgToolError("--csv writes CSV: give --out a .csv file, or -", out)
    if csv_rows or csv_file:
        def header(value):
            return csv_line(REPORT_COLUMNS)

        def line(value):
            return csv_line(value[1].as_row().values())
    else:
        def header(value):
            return ""

        def line(value):
            return json.dumps({**value[1].as_dict(), "thresholds": thresholds},
                              allow_nan=False) + "\n"

    done, failures, skipped = run_and_write(
        srcs, run, out, write, header, line, resume, quiet,
        analysis_job("diagnose", opts, ann, ann_labels, no_classify, model, det,
                     thresholds=thresholds, **c.rhythm_job(settings), **stretch))
    order = list(dict.fromkeys(s.name for s in srcs))
    if hourly and (analysed or skipped):
        from dataclasses import astuple

        # A resumed run's table holds the records it skipped too, from their store.
        hours_of = {**(stored_hours(out, skipped) if skipped else {}),
                    **{n: v[2] for n, v in analysed.items()}}
        with c.text_output(hourly) as stream:
            stream.write(csv_line(HOURLY_COLUMNS))
            for name in order:
                stream.writelines(csv_line(astuple(h)) for h in hours_of.get(name, []))
    if html and (analysed or skipped):
        from ecgtool.report import html_report

        shown = {n: v[:2] for n, v in analysed.items()}
        if skipped:
            # The records a resumed store already held, analysed again from
            # it: their beats and classes as stored, rhythm and verdict as then.
            from ecgtool.io.inputs import expand_inputs

            for src in expand_inputs([out]):
                if src.name in skipped:
                    a = job(src)
                    shown[src.name] = (a, diagnose_analysis(a, th))
        with c.text_output(html) as stream:
            stream.write(html_report([shown[n] for n in order if n in shown], th))
    if not quiet and items:
        n_ab = sum(r.verdict == "abnormal" for _, r, _ in items)
        n_un = sum(r.verdict == "unreadable" for _, r, _ in items)
        c.say(f"ecgtool: {len(items)} record{'s' if len(items) != 1 else ''}, {n_ab} abnormal"
              + (f", {n_un} unreadable" if n_un else "")
              + (f"; {len(failures)} failed" if failures else ""))
        warn_unlabelled([r.labelled for _, r, _ in items], "PVC/PAC burden, VT runs and "
                        "trigeminy are not assessed there, bigeminy comes from beat timing, and "
                        "ectopic beats can read as AF")
    return exit_code(done, failures, skipped)
