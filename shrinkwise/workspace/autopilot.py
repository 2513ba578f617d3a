"""The autopilot: walk the compression ladder on real measurements and stop at the first rung that meets the budget.

Why this shape: the study's central lesson is a ladder — the least invasive step first, measured at each rung,
stopping as soon as the budget is met. The advisor already knows the ladder (its plan) and the one decision
(`Advice.decision`) already judges measured candidates against the budget, so the autopilot adds no judgement of
its own about *whether* a candidate is good enough. It only chooses what to measure next:

1. the advisor's plan steps, in the plan's order (a step the user unticked or that needs missing data is left out;
   a step whose size estimate cannot reach the size budget is skipped with that estimate in the journal);
2. then climbs on what was measured: a quantized candidate that lost too much quality gets per-channel scales,
   then a sensitivity analysis that keeps only the layers that cost the quality in float; one that keeps the
   quality but misses the size budget gets its embedding tables in 4 bits (where the engine can) — each rung a
   normal recorded run, so it survives a crash, shows on Compare and in the report.

After every rung it re-advises on the measured facts. It stops when the decision recommends a candidate (every
budget met), when only budgets that need the device remain unknown, when no rung is left, after `max_rungs`
measured rungs, or at the time budget — then with the best candidate so far and the reason. The journal
(`workspace.journal`) says for each rung why it ran, what it measured and why the next one was (not) needed.

A resumed autopilot (the same command after a kill) continues the unfinished journal; a rung whose run already
finished, in this climb or by hand, is reused instead of run again.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from shrinkwise.advisor.hostcpu import detect_this_computer
from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.workspace.journal import Journal, Rung, RungFigures
from shrinkwise.workspace.project import Experiment, RecipeStep, utc_now
from shrinkwise.workspace.store import owner_alive, owner_record

if TYPE_CHECKING:
    from shrinkwise.advisor.advice import Advice, PlanStep
    from shrinkwise.advisor.decision import Decision
    from shrinkwise.advisor.feasibility import Outlook
    from shrinkwise.compression.runner import Run
    from shrinkwise.workspace.result_row import ResultRow
    from shrinkwise.workspace.session import Session

DEFAULT_TIME_BUDGET_S = 600.0
DEFAULT_MAX_RUNGS = 8
# A rung is skipped on its size estimate only when even its best case is clearly short of what the budget needs
# (estimates of bytes per weight are within ~20 % of the real file; a closer call is measured instead).
SIZE_ESTIMATE_SLACK = 0.8
# A candidate whose measured speed-up is within this share of the speed budget (and that misses nothing else) is
# timed again, for longer, before it is judged: a short timing on a busy machine moves by that much.
RETIME_MARGIN = 0.3
QUALITY_MISSES = frozenset({"accuracy", "subgroups", "disagreement", "fidelity"})
# The rungs the autopilot adds on top of the plan, named for the journal (the rule id column of the timeline).
CLIMB_PER_CHANNEL = "autopilot:per-channel"
CLIMB_SENSITIVITY = "autopilot:keep-sensitive-layers-float"
CLIMB_EMBEDDINGS_4BIT = "autopilot:embeddings-4bit"
CLIMB_STATIC_FOR_CONV = "autopilot:static-int8-for-conv"
CLIMB_PRUNE_FOR_LATENCY = "autopilot:prune-channels-for-latency"
CLIMB_INT8_STORAGE = "autopilot:int8-storage-keeps-the-speed"


def parse_duration(text: str | float) -> float:
    """'10m', '90s', '1h30m', '1.5h' or plain seconds -> seconds; refused with one line otherwise."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)s?)?", raw)
        if not raw or parts is None or not any(parts.groups()):
            raise ShrinkwiseError(f"'{text}' is not a duration", fix="write it like 10m, 90s or 1h30m")
        h, m, s = (float(g) if g else 0.0 for g in parts.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise ShrinkwiseError(f"the time budget must be positive, not '{text}'", fix="e.g. --time-budget 10m")
    return seconds


@dataclass(frozen=True)
class AutopilotEvent:
    """What the CLI's progress and the GUI's timeline show: a rung started/finished, a run's own event, the end."""

    kind: Literal["rung_started", "rung_finished", "run_event", "done"]
    index: int
    max_rungs: int
    journal: Journal
    rung: Rung | None = None
    event: Any = None

    @property
    def text(self) -> str:
        if self.kind == "done":
            return f"autopilot: {self.journal.status_text}"
        rung = self.rung
        title = rung.title if rung else ""
        if self.kind == "rung_started":
            return f"rung {self.index} of at most {self.max_rungs}: {title}"
        if self.kind == "rung_finished" and rung is not None:
            return f"rung {self.index}: {title} — {rung.status}" + (f" ({rung.error})" if rung.error else "")
        return title


EventCallback = Callable[[AutopilotEvent], None]


@dataclass
class _Next:
    """A rung to run (or skip) and why."""

    action: Literal["run", "sensitivity", "reuse", "skip"]
    technique: str
    config: dict[str, Any]
    title: str
    why: str
    rule_id: str | None
    experiment: str | None = None
    tolerance: float | None = None
    then: list[RecipeStep] = field(default_factory=list)  # steps chained after this one (each on the previous output)

    @property
    def steps(self) -> list[RecipeStep]:
        return [RecipeStep(technique=self.technique, config=self.config), *self.then]

    @property
    def key(self) -> str:
        return _recipe_key(self.steps, self.action)


def _rung_key(r: Rung) -> str:
    steps = [RecipeStep.model_validate(s) for s in r.recipe] or [
        RecipeStep(technique=r.technique or "", config=r.config)
    ]
    return _recipe_key(steps, r.action)


def _recipe_key(steps: list[RecipeStep], action: str = "run") -> str:
    """One rung's identity, on the full settings (a run records every default; a plan step names only a few).
    A sensitivity analysis of a technique is not the same rung as running it."""
    prefix = "sensitivity:" if action == "sensitivity" else ""
    return prefix + json.dumps([[s.technique, _full_config(s)] for s in steps], sort_keys=True, default=str)


def _full_config(step: RecipeStep) -> dict[str, Any]:
    from shrinkwise.compression.catalog import technique_module

    try:
        return dict(technique_module(step.technique).Config.model_validate(step.config).model_dump(mode="json"))
    except Exception:  # noqa: BLE001 - an unknown or invalid config is its own key; the run will say what is wrong
        return dict(step.config)


class Autopilot:
    """One climb over a session. `run()` blocks; `cancel()` (from another thread) stops the current run cleanly."""

    def __init__(
        self,
        session: Session,
        time_budget_s: float = DEFAULT_TIME_BUDGET_S,
        max_rungs: int = DEFAULT_MAX_RUNGS,
        on_event: EventCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rungs < 1:
            raise ShrinkwiseError(f"--max-rungs must be at least 1, not {max_rungs}", fix="e.g. --max-rungs 8")
        self.session = session
        self.time_budget_s = float(time_budget_s)
        self.max_rungs = max_rungs
        self.on_event = on_event
        self.clock = clock
        self._cancelled = threading.Event()
        self._run: Run | None = None
        self._deadline = 0.0
        self.journal: Journal | None = None

    # --- control ---------------------------------------------------------------------------------------------

    def cancel(self) -> None:
        self._cancelled.set()
        if self._run is not None:
            self._run.cancel("cancelled by the user")

    def _on_start(self, run: Run) -> None:
        self._run = run
        if self._cancelled.is_set():
            run.cancel("cancelled by the user")

    def _left(self) -> float:
        return self._deadline - self.clock()

    def _emit(self, kind: Any, rung: Rung | None = None, event: Any = None) -> None:
        if self.on_event is not None and self.journal is not None:
            index = rung.index if rung else len(self.journal.runs)
            self.on_event(AutopilotEvent(kind, index, self.max_rungs, self.journal, rung, event))

    def _save(self) -> None:
        from shrinkwise.workspace.runs import _save

        _save(self.session)

    # --- the climb -------------------------------------------------------------------------------------------

    def run(self) -> Journal:
        from shrinkwise.workspace.runs import ensure_baseline

        session = self.session
        session.require_model()
        self._deadline = self.clock() + self.time_budget_s
        measurable = session.project.budget.model_dump(exclude_none=True, exclude={"power_mw", "latency_statistic"})
        if not measurable:
            raise ShrinkwiseError(
                "the autopilot needs a budget to aim at, and none is set",
                fix="set one first, e.g. 'shrinkwise budget P --size-mb 0.1 --accuracy-drop-pts 1'",
            )
        journal = self._start_or_resume()
        ensure_baseline(session)
        session.profile()
        try:
            self._climb(journal)
        except KeyboardInterrupt:
            self._finish(journal, "cancelled", None, "cancelled by the user; run the autopilot again to resume")
            raise
        except Exception as exc:
            self._finish(
                journal, "failed", None, f"stopped by an error: {str(exc).splitlines()[0] if str(exc) else exc}"
            )
            raise
        return journal

    def _start_or_resume(self) -> Journal:
        from shrinkwise.workspace.runs import new_id

        project = self.session.project
        last = project.autopilot[-1] if project.autopilot else None
        if last is not None and last.status == "running":
            if owner_alive(last.owner) and last.owner.get("pid") != owner_record().get("pid"):
                raise ShrinkwiseError(
                    f"another autopilot is running on this project (process {last.owner.get('pid')})",
                    fix="wait for it to finish, or stop it and run the autopilot again to resume",
                )
            for r in last.rungs:
                if r.status == "running":
                    r.status = "interrupted"
                    r.error = "the process running this rung stopped; the rung is run again"
            last.owner = owner_record()
            last.time_budget_s = self.time_budget_s
            last.max_rungs = self.max_rungs
            self.journal = last
        else:
            self.journal = Journal(
                id=new_id("autopilot"),
                started=utc_now(),
                time_budget_s=self.time_budget_s,
                max_rungs=self.max_rungs,
                budget=project.budget.model_dump(exclude_none=True),
                target=project.target.id,
                owner=owner_record(),
            )
            project.autopilot.append(self.journal)
        self._save()
        return self.journal

    def _climb(self, journal: Journal) -> None:
        while True:
            advice = self.session.advise()
            decision = advice.decision
            if self._retime_close_call(journal, decision):
                advice = self.session.advise()
                decision = advice.decision
            self._judge_last(journal, decision)
            if decision.status == "recommended":
                return self._finish(
                    journal, "met", decision, f"{decision.label} meets every budget: no further rung is needed."
                )
            if decision.status == "provisional":
                return self._finish(
                    journal,
                    "provisional",
                    decision,
                    f"{decision.label} misses no budget that can be checked here; still unknown: "
                    + "; ".join(decision.unknown)
                    + ". Climbing further cannot settle that: measure it on the device.",
                )
            if self._cancelled.is_set():
                raise KeyboardInterrupt
            if len(journal.runs) >= self.max_rungs:
                return self._finish_best(
                    journal, decision, "not_met", f"the limit of {self.max_rungs} rungs was reached"
                )
            if self._left() <= 0:
                return self._finish_best(journal, decision, "time_up", "the time budget is spent")
            nxt = self._next(advice, journal)
            if nxt is None:
                return self._finish_best(
                    journal, decision, "not_met", "no rung is left that the measurements say could help"
                )
            if journal.rungs and not journal.rungs[-1].next:
                journal.rungs[-1].next = f"Next: {nxt.title}."
            self._do(journal, nxt)

    # --- choosing the next rung ------------------------------------------------------------------------------

    def _tried(self) -> tuple[dict[str, Experiment], set[str]]:
        """Finished single-step recipes by key (reusable), and keys that failed (not retried)."""
        done: dict[str, Experiment] = {}
        failed: set[str] = set()
        for e in self.session.project.experiments:
            if e.kind not in ("run", "sweep") or not e.recipe:
                continue
            k = _recipe_key(e.recipe)
            if e.status == "finished":
                done.setdefault(k, e)
            elif e.status == "failed":
                failed.add(k)
        return done, failed

    def _next(self, advice: Advice, journal: Journal) -> _Next | None:
        done, failed = self._tried()
        settled = ("finished", "skipped", "failed")
        seen = {_rung_key(r) for r in journal.rungs if r.status in settled}
        seen |= {r.experiment for r in journal.rungs if r.experiment}
        for nxt in self._plan_rungs(advice) + self._climb_rungs(advice, journal):
            k = nxt.key
            if k in seen or k in failed:
                continue
            if nxt.action == "run" and k in done:
                exp = done[k]
                if exp.id in seen:
                    continue
                nxt.action, nxt.experiment = "reuse", exp.id
            if nxt.action == "sensitivity" and (prior := self._prior_sensitivity(nxt)) is not None:
                if prior.id in seen:
                    continue
                nxt.action, nxt.experiment = "reuse", prior.id
            return nxt
        return None

    def _plan_rungs(self, advice: Advice) -> list[_Next]:
        edits = self.session.project.plan
        out = []
        steps = [s for s in advice.plan if s.technique]
        for s in steps:
            assert s.technique is not None
            if s.key in edits.dropped or not s.in_app or s.blocked_by or s.missing:
                continue
            config = dict(edits.configs.get(s.key) or s.config)
            nxt = _Next("run", s.technique, config, s.name, _why(s), s.rule_id)
            skip = self._size_skip(advice, s, steps)
            if skip:
                nxt.action, nxt.why = "skip", skip
            out.append(nxt)
        return out

    def _size_skip(self, advice: Advice, step: PlanStep, steps: list[PlanStep]) -> str | None:
        """Why to skip a rung that cannot reach the size budget even in its best case (an estimate), or None.

        The plan's last rung is skipped only once some candidate was measured: something is measured rather than
        nothing."""
        f = advice.feasibility
        budget = self.session.project.budget.size_mb
        outlook = next((o for o in f.outlooks if o.technique == step.technique), None)
        if _size_within_reach(advice, budget, outlook) is not False:
            return None
        assert budget and outlook and outlook.size_factor and f.size_now_mb  # a judged miss has all four
        needed = f.size_now_mb / budget
        measured = any(e.kind != "baseline" and e.status == "finished" for e in self.session.project.experiments)
        if step is steps[-1] and not measured:
            return None
        why = f" ({outlook.note})" if outlook.note else ""
        return (
            f"Skipped: at best {outlook.size_factor:.2g}× smaller{why} (estimate from the weights' bytes), and the "
            f"{budget:g} MB budget needs {needed:.2g}×; measuring it would only confirm the miss."
        )

    def _climb_rungs(self, advice: Advice, journal: Journal) -> list[_Next]:
        """Rungs beyond the plan, from what the decision says each measured candidate misses (least invasive first)."""
        from shrinkwise.compression.catalog import technique_module
        from shrinkwise.workspace.figures import quality_metric

        project = self.session.project
        misses = {r.id: set(r.missed) for r in advice.decision.rejected}
        base = project.baseline
        ops = set(base.final_artifact.op_types) if base and base.final_artifact else set()
        metric = quality_metric(base.measurements) if base else None
        can_train = self._can_train()
        out: list[_Next] = []
        for exp in self._candidates(journal):
            step = exp.recipe[0]
            missed = misses.get(exp.id, set())
            fields = technique_module(step.technique).Config.model_fields
            config = {k: v for k, v in step.config.items() if k != "nodes_to_exclude"}
            label = exp.label or exp.id
            if missed & QUALITY_MISSES and step.technique in ("int8_dynamic", "int8_static"):
                if "per_channel" in fields and not config.get("per_channel"):
                    out.append(
                        _Next(
                            "run",
                            step.technique,
                            {**config, "per_channel": True},
                            f"{step.technique} with one scale per output channel",
                            f"{label} lost more quality than the budget allows; per-channel scales follow each "
                            "output channel's own range and usually recover most of it at no size cost.",
                            CLIMB_PER_CHANNEL,
                        )
                    )
                tolerance = _tolerance(project.budget, metric)
                if tolerance is not None:
                    out.append(
                        _Next(
                            "sensitivity",
                            step.technique,
                            config,
                            f"Sensitivity analysis of {step.technique}: keep the layers that cost quality in float",
                            f"{label} still lost too much quality; measuring each layer alone finds the few that "
                            "cost it, and only those stay in float (the smallest set measured to meet the tolerance).",
                            CLIMB_SENSITIVITY,
                            tolerance=tolerance,
                        )
                    )
            if "size" in missed and not missed & QUALITY_MISSES:
                if step.technique == "int8_dynamic" and "embedding_bits" in fields and "Gather" in ops:
                    if config.get("embedding_bits", 8) != 4:
                        out.append(
                            _Next(
                                "run",
                                step.technique,
                                {**config, "embedding_bits": 4},
                                "int8_dynamic with the embedding tables in 4 bits",
                                f"{label} keeps the quality but is over the size budget; the embedding tables "
                                "hold much of the weight and tolerate 4 bits (ONNX Runtime loads them as is).",
                                CLIMB_EMBEDDINGS_4BIT,
                            )
                        )
            if (
                "latency" in missed
                and not missed & QUALITY_MISSES
                and step.technique in ("int8_dynamic", "int8_static")
                and self._storage_can_meet(advice)
            ):
                # Least invasive answer to "small enough but slower": int8 in the file, float32 arithmetic (the
                # original's graph once the runtime folds the expansion at load); nothing to train.
                out.append(
                    _Next(
                        "run",
                        "int8_storage",
                        {},
                        "int8_storage (int8 weights in the file, float32 arithmetic)",
                        f"{label} is small enough but slower than the original: its int8 arithmetic costs more "
                        "than it saves here. Storing the weights in int8 and expanding them to float32 when the "
                        "model loads keeps most of the size gain and the original's speed.",
                        CLIMB_INT8_STORAGE,
                    )
                )
            if (
                "latency" in missed
                and not missed & QUALITY_MISSES
                and can_train
                and step.technique != "prune_structured"
            ):
                # The candidate's own size step after the pruning first; fp16 as the fallback tail, because on
                # small models int8's quantize/dequantize at the edges can cost more time than it saves.
                for tail in dict.fromkeys([step.technique, "fp16"]):
                    tail_config = config if tail == step.technique else {}
                    out.append(
                        _Next(
                            "run",
                            "prune_structured",
                            {},
                            f"Structured pruning + fine-tuning, then {tail}",
                            f"{label} keeps the quality but is slower than the budget; removing whole channels (and "
                            "fine-tuning on your training data) makes every layer cheaper on any runtime, and "
                            f"{tail} applied after it keeps the size down.",
                            CLIMB_PRUNE_FOR_LATENCY,
                            then=[RecipeStep(technique=tail, config=tail_config)],
                        )
                    )
            if "latency" in missed and step.technique == "int8_dynamic" and ops & {"Conv", "ConvTranspose"}:
                out.append(
                    _Next(
                        "run",
                        "int8_static",
                        {},
                        "int8_static (calibrated int8 for Conv layers)",
                        f"{label} is too slow: dynamic int8 leaves Conv in float (or uses slow ConvInteger); "
                        "static int8 runs Conv on int8 kernels.",
                        CLIMB_STATIC_FOR_CONV,
                    )
                )
        return out

    def _storage_can_meet(self, advice: Advice) -> bool:
        """Whether int8_storage could meet the budget: speed must only not drop (it runs at the original's speed),
        and its size estimate must reach the size budget (or no size budget is set)."""
        budget, f = self.session.project.budget, advice.feasibility
        base = self.session.project.baseline
        base_ms = base.measurement("latency_ms_median") if base else None
        if budget.min_speedup is not None and budget.min_speedup > 1.0:
            return False
        if budget.latency_ms is not None and (base_ms is None or base_ms.value > budget.latency_ms):
            return False
        outlook = next((o for o in f.outlooks if o.technique == "int8_storage"), None)
        if outlook is None or outlook.runs_on_target is False:
            return False
        return _size_within_reach(advice, budget.size_mb, outlook) is not False

    def _can_train(self) -> bool:
        """Training-aware rungs need labelled training data and the model in PyTorch (the study's last rungs)."""
        try:
            return self.session.torch_spec() is not None and self.session.datasets()["training"] is not None
        except ShrinkwiseError:
            return False

    def _candidates(self, journal: Journal) -> list[Experiment]:
        """Single-step quantized candidates measured so far, the least invasive (earliest rung) first."""
        ids = [r.experiment for r in journal.rungs if r.experiment and r.status == "finished"]
        exps = []
        for e in self.session.project.experiments:
            if e.status != "finished" or e.kind == "baseline" or len(e.recipe) != 1:
                continue
            exps.append(e)
        exps.sort(key=lambda e: (ids.index(e.id) if e.id in ids else len(ids), e.created))
        return exps

    def _prior_sensitivity(self, nxt: _Next) -> Experiment | None:
        for e in reversed(self.session.project.experiments):
            if e.kind != "sensitivity" or e.status != "finished" or not e.recipe:
                continue
            x = e.sensitivity_result()
            if x is None:
                continue
            wanted = dict(nxt.config)
            if nxt.technique == "int8_dynamic":
                wanted.setdefault("op_preset", "all_supported")
            if x.technique == nxt.technique and x.tolerance == nxt.tolerance and x.proposal.base_config() == wanted:
                return e
        return None

    # --- running a rung --------------------------------------------------------------------------------------

    def _do(self, journal: Journal, nxt: _Next) -> None:
        from shrinkwise.workspace.runs import run_recipe, sensitivity

        index = len(journal.runs) + (0 if nxt.action == "skip" else 1)
        rung = Rung(
            index=index,
            action=nxt.action,
            technique=nxt.technique,
            config=nxt.config,
            recipe=[st.model_dump() for st in nxt.steps],
            title=nxt.title,
            why=nxt.why,
            rule_id=nxt.rule_id,
            experiment=nxt.experiment,
            started=utc_now(),
            status="skipped" if nxt.action == "skip" else "running",
        )
        journal.rungs.append(rung)
        if nxt.action == "skip":
            rung.finished = utc_now()
            self._save()
            self._emit("rung_finished", rung)
            return
        if nxt.action == "reuse":
            rung.why += f" Already measured ({nxt.experiment}); reused, not run again."
            rung.status, rung.finished, rung.seconds = "finished", utc_now(), 0.0
            self._save()
            self._emit("rung_finished", rung)
            return
        self._save()
        self._emit("rung_started", rung)
        t0 = self.clock()
        label = f"Autopilot {index}: {_short(nxt.steps)}"

        def forward(ev: Any) -> None:
            self._emit("run_event", rung, ev)

        try:
            if nxt.action == "sensitivity":
                assert nxt.tolerance is not None
                exp = sensitivity(
                    self.session,
                    nxt.tolerance,
                    technique=nxt.technique,
                    config=nxt.config,
                    on_event=forward,
                    on_start=self._on_start,
                    time_limit_s=max(1.0, self._left()),
                    label=label,
                )
            else:
                exp = run_recipe(
                    self.session,
                    nxt.steps,
                    label=label,
                    group=journal.id,
                    on_event=forward,
                    on_start=self._on_start,
                    time_limit_s=max(1.0, self._left()),
                )
        except KeyboardInterrupt:
            rung.status, rung.finished = "cancelled", utc_now()
            rung.seconds = round(self.clock() - t0, 2)
            raise
        except ShrinkwiseError as exc:  # preparing the run failed: recorded by runs; the climb goes on
            rung.status, rung.error = "failed", str(exc).splitlines()[0]
        else:
            rung.experiment = exp.id
            rung.status = (
                "finished" if exp.status == "finished" else ("cancelled" if exp.status == "cancelled" else "failed")
            )
            rung.error = exp.error
        finally:
            self._run = None
        rung.finished = utc_now()
        rung.seconds = round(self.clock() - t0, 2)
        if rung.status == "cancelled" and self._cancelled.is_set():
            self._save()
            raise KeyboardInterrupt
        if rung.status != "finished":
            rung.verdict = "no candidate: the run " + rung.status
            if self._left() <= 0:
                rung.next = "The time budget ran out during this rung."
        self._save()
        self._emit("rung_finished", rung)

    # --- judging and finishing -------------------------------------------------------------------------------

    def _retime_close_call(self, journal: Journal, decision: Decision) -> bool:
        """Time the newest rung's candidate again, for longer, when its speed is within `RETIME_MARGIN` of the
        speed budget and speed is all that decides it (see `workspace.retime`). True when it was re-timed."""
        from shrinkwise.workspace.retime import DEFAULT_RETIME_S, retime, was_retimed

        rung = next((r for r in reversed(journal.rungs) if r.action != "skip"), None)
        if rung is None or rung.verdict or rung.status != "finished" or rung.experiment is None:
            return False
        exp = self.session.project.experiment(rung.experiment)
        budget = self.session.project.budget
        ratio = exp.measurement("latency_ratio")
        if budget.min_speedup is None or ratio is None or ratio.source != "host" or was_retimed(exp):
            return False
        missed = set(next((r.missed for r in decision.rejected if r.id == exp.id), []))
        if missed - {"latency"}:
            return False  # it misses something else: a better timing would not change the verdict
        speedup = 1.0 / ratio.value if ratio.value else 0.0
        if abs(speedup / budget.min_speedup - 1.0) > RETIME_MARGIN:
            return False
        seconds = min(DEFAULT_RETIME_S, self._left() / 3)
        if seconds < 3:
            return False
        self._emit("rung_started", rung)
        retime(self.session, exp.id, seconds=seconds)
        after = self.session.project.experiment(exp.id).measurement("latency_ratio")
        rung.notes.append(
            f"Re-timed for {seconds:.0f} s beside the original: {speedup:.2f}× faster at first, "
            f"{1 / after.value:.2f}× now (within {RETIME_MARGIN:.0%} of the {budget.min_speedup:g}× budget, so "
            "the first, short timing was too close to call)."
            if after is not None and after.value
            else f"Re-timed for {seconds:.0f} s beside the original."
        )
        self._save()
        return True

    def _judge_last(self, journal: Journal, decision: Decision) -> None:
        """Fill the newest measured rung's figures and verdict from the decision just made on its result."""
        rung = next((r for r in reversed(journal.rungs) if r.action != "skip"), None)
        if rung is None or rung.verdict or rung.status != "finished" or rung.experiment is None:
            return
        rung.figures = _figures(self.session, rung.experiment)
        if decision.candidate == rung.experiment and decision.status == "recommended":
            rung.verdict = "Meets every budget."
        elif reasons := decision.misses_budget(rung.experiment):
            rung.verdict = "Misses: " + "; ".join(reasons) + "."
        elif decision.candidate == rung.experiment:
            rung.verdict = "Misses no budget that can be checked here."
        elif decision.status == "recommended":
            rung.verdict = f"Meets the budgets, but {decision.label} changes the model less."
        else:
            rung.verdict = "Misses no budget that was checked."
        self._save()

    def _finish(self, journal: Journal, status: Any, decision: Decision | None, because: str) -> None:
        journal.status = status
        journal.finished = utc_now()
        journal.stopped_because = because
        if decision is not None and decision.candidate:
            journal.final, journal.final_label = decision.candidate, decision.label
        last = next((r for r in reversed(journal.rungs) if r.action != "skip"), None)
        if last is not None and not last.next:
            last.next = "No further rung: " + because if status in ("met", "provisional") else "Stopped: " + because
        self._save()
        self._emit("done")

    def _finish_best(self, journal: Journal, decision: Decision, status: Any, because: str) -> None:
        """Stop without a candidate that meets everything: name the best trade-off so far and what it misses."""
        best = _best_so_far(self.session, decision)
        if best is None:
            return self._finish(journal, status, None, _sentence(because) + " No candidate was measured.")
        exp_id, label, reasons = best
        journal.final, journal.final_label = exp_id, label
        self._finish(
            journal,
            status,
            None,
            f"{_sentence(because)} The best trade-off found is {label}"
            + (f", which still misses: {'; '.join(reasons)}" if reasons else "")
            + "."
            + _slow_int8_here(decision, exp_id)
            + " Relax that budget, add training data for training-aware steps, or choose a smaller architecture.",
        )


def _slow_int8_here(decision: Decision, candidate: str) -> str:
    """Why a speed budget was missed, when the reason is this computer's CPU (where speed is measured): without
    int8 dot-product instructions (VNNI, Arm's dot-product extension) int8 layers gain little over float32."""
    missed = next((r.missed for r in decision.rejected if r.id == candidate), [])
    here = detect_this_computer()
    if "latency" not in missed or here.int8_accelerated:
        return ""
    return (
        f" Speed is measured on {here.name[:1].lower() + here.name[1:]}, which has "
        "no int8 dot-product instructions: int8 layers run only a little faster than float32 on it, so post-training "
        "int8 cannot bring a large speed-up here; a CPU with VNNI or an Arm CPU with the dot-product extension can."
    )


def _size_within_reach(advice: Advice, budget_mb: float | None, outlook: Outlook | None) -> bool | None:
    """Whether a technique's best-case size factor (an estimate, with `SIZE_ESTIMATE_SLACK`) reaches the size
    budget; None when there is no budget or nothing to judge it by."""
    size_now = advice.feasibility.size_now_mb
    if budget_mb is None or size_now is None or outlook is None or outlook.size_factor is None:
        return None
    return outlook.size_factor >= SIZE_ESTIMATE_SLACK * size_now / budget_mb


def run_autopilot(
    session: Session,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    max_rungs: int = DEFAULT_MAX_RUNGS,
    on_event: EventCallback | None = None,
) -> Journal:
    """Climb the ladder on `session` until the budget is met (see the module doc); returns the journal."""
    return Autopilot(session, time_budget_s, max_rungs, on_event).run()


def latest_journal(session: Session) -> Journal | None:
    return session.project.autopilot[-1] if session.project.autopilot else None


# --- helpers -------------------------------------------------------------------------------------------------


def _short(steps: list[RecipeStep]) -> str:
    """'int8_dynamic per_channel embedding_bits=4 + fp16': a candidate's name on Compare, its settings that differ
    from the technique's defaults only (the rung's title is the longer, friendly name)."""
    from shrinkwise.compression.catalog import technique_module

    parts = []
    for st in steps:
        try:
            defaults = technique_module(st.technique).Config().model_dump(mode="json")
        except Exception:  # noqa: BLE001 - an unknown technique is named as it is
            defaults = {}
        keys = [k if v is True else f"{k}={v}" for k, v in st.config.items() if defaults.get(k, object()) != v]
        parts.append(" ".join([st.technique, *keys]))
    return " + ".join(parts)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _why(step: PlanStep) -> str:
    text = (step.why or step.what or "").strip()
    return f"The advisor's plan ({step.rule_id}): {text}" if text else f"The advisor's plan ({step.rule_id})."


def _tolerance(budget: Any, metric: str | None) -> float | None:
    """The sensitivity analysis's tolerance (a 0-1 drop of `metric`) from the budget that judges that metric."""
    if metric == "accuracy" and budget.accuracy_drop_pts is not None:
        return float(budget.accuracy_drop_pts) / 100.0
    if metric == "top1_agreement":
        if budget.max_disagreement_pct is not None:
            return float(budget.max_disagreement_pct) / 100.0
        if budget.accuracy_drop_pts is not None:
            return float(budget.accuracy_drop_pts) / 100.0
    if metric == "cosine_mean" and budget.min_cosine is not None:
        return max(0.0, 1.0 - float(budget.min_cosine))
    if budget.accuracy_drop_pts is not None:
        return float(budget.accuracy_drop_pts) / 100.0
    return None


def _figures(session: Session, experiment_id: str) -> RungFigures:
    rows = session.results()
    row = next((r for r in rows if r.id == experiment_id), None)
    base = next((r for r in rows if r.original), None)
    if row is None:
        return RungFigures()
    size, base_size = row.size_bytes, base.size_bytes if base else None
    ratio = row.latency_ratio
    q, base_q = row.quality, base.quality if base else None
    return RungFigures(
        size_bytes=size,
        size_ratio=round(base_size / size, 3) if size and base_size else None,
        latency_ms=row.latency_ms_median,
        speedup=round(1.0 / ratio, 3) if ratio else None,
        quality_metric=row.quality_metric,
        quality=q,
        quality_drop_pts=round((base_q - q) * 100, 3) if q is not None and base_q is not None else None,
    )


def _best_so_far(session: Session, decision: Decision) -> tuple[str, str, list[str]] | None:
    """Fewest missed budgets, then the smallest quality loss, then the smallest file."""
    everything = session.results()
    rows = [r for r in everything if not r.original]
    if not rows:
        return None
    base = next((r for r in everything if r.original), None)
    base_q = (base.quality if base else None) or 0.0

    def rank(r: ResultRow) -> tuple[int, float, float]:
        missed = decision.misses_budget(r.id)
        drop = base_q - r.quality if r.quality is not None else 1.0
        return (len(missed), round(drop, 4), r.size_bytes or float("inf"))

    best = min(rows, key=rank)
    return best.id, best.label, decision.misses_budget(best.id)
