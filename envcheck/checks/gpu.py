"""GPU health and topology (issue #12): what slows a GPU down or makes it fail, read from the
gpu_health facts (envcheck/facts/gpu_health.py). Nothing to say without a driver or GPUs: the
driver checks explain that.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _(),
the descriptions and the reason texts are marked with N_(); commands, variable names and values are
placeholders or stay literally inside the message."""

from __future__ import annotations

from typing import Any

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.core.model import Facts
from envcheck.i18n import N_, _, current_language, join

# Degrees below the slowdown threshold at which we warn (the GPU is about to cut its clocks).
TEMPERATURE_MARGIN_C = 5

# Reasons that mean the GPU runs slower than it could; the others (idle, application clocks set by
# the admin, sync boost, display) are normal.
SLOWING_REASONS = {
    "hw_slowdown": N_("hardware slowdown (HW_SLOWDOWN: power brake or over-temperature signal from the board)"),
    "hw_thermal_slowdown": N_("hardware thermal slowdown (the GPU is too hot)"),
    "hw_power_brake_slowdown": N_("hardware power brake (the power supply asserted the brake signal)"),
    "sw_thermal_slowdown": N_("software thermal slowdown (the driver holds clocks down to stay under a temperature)"),
    "sw_power_cap": N_("software power cap (the GPU is at its power limit)"),
}


def _health(facts: Facts) -> dict[str, Any]:
    return facts.data("gpu_health")


def _gpus(facts: Facts) -> list[dict[str, Any]]:
    return [g for g in _health(facts).get("gpus") or [] if isinstance(g, dict)]


def _label(gpu: dict[str, Any]) -> str:
    return f"GPU {gpu.get('index')} ({gpu.get('name') or _('unknown model')})"


def _clauses(parts: list[str]) -> str:
    """Clauses of one detail line, separated as the language writes them ("a; b" / "a；b")."""
    return ("；" if current_language() == "zh" else "; ").join(parts)


def _gpu_names(names: list[str]) -> str:
    """"GPU 0, GPU 2" / "GPU 0、GPU 2"."""
    return join(names)


def _not_applicable(facts: Facts) -> bool:
    return not _gpus(facts)


@check("gpu.throttling", "gpu", N_("No GPU is slowed by thermal, power-brake or power-cap clock limits"), facts=("gpu_health",))
def throttling(facts: Facts):
    """Reads each GPU's clocks event reasons (NVML `nvmlDeviceGetCurrentClocksEventReasons`, or
    `clocks_event_reasons.active` from nvidia-smi): hardware slowdown, hardware/software thermal
    slowdown, hardware power brake and the software power cap. "GPU idle" and application-clock
    settings are normal and ignored. The reading is a snapshot: a power cap seen at idle matters
    only if it persists under load (`envcheck gpu-bench` measures it).

    Why: a throttled GPU runs at a fraction of its clocks: training is slower with no error anywhere.
    Hardware slowdown and power brake point at cooling or the power supply; thermal slowdown at
    airflow; the power cap at a lowered power limit.

    Fix: thermal: check fans, airflow and the room (`nvidia-smi -q -d TEMPERATURE,PERFORMANCE`), the
    admin's job. Power brake / hardware slowdown: the admin checks the power supply and cabling.
    Power cap: `nvidia-smi -q -d POWER` shows the limit; the admin may raise it with
    `sudo nvidia-smi -i N -pl WATTS` up to the maximum.
    """
    if _not_applicable(facts):
        return None
    found, details, unknown = [], [], 0
    for gpu in _gpus(facts):
        reasons = gpu.get("clock_event_reasons")
        if reasons is None:
            unknown += 1
            continue
        slowing = [r for r in reasons if r in SLOWING_REASONS]
        if slowing:
            found.append((gpu, slowing))
            details.append(_("{gpu}: {reasons}").format(gpu=_label(gpu),
                                                        reasons=_clauses([_(SLOWING_REASONS[r]) for r in slowing])))
    if not found:
        if unknown == len(_gpus(facts)):
            return skip(_("the GPUs do not report clock event reasons"))
        return ok(_("no GPU is slowed by thermal or power limits right now"))
    hardware = any(r in ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", "sw_thermal_slowdown")
                   for _gpu, rs in found for r in rs)
    if hardware:
        return fail(_("{count} GPU(s) are being slowed down by thermal or power-brake limits").format(count=len(found)),
                    details=details,
                    fix=_("Ask the admin to check cooling (fans, airflow, inlet temperature) and the power supply: "
                          "{command} shows which limit is active.").format(
                              command="`nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER`")).by("admin")
    return warn(_("{count} GPU(s) are at their software power cap").format(count=len(found)), details=details,
                fix=_("If this persists under load (run {bench}), ask the admin to check the power limit "
                      "({query}) and raise it with {command}.").format(
                          bench="`envcheck gpu-bench`", query="`nvidia-smi -q -d POWER`",
                          command="`sudo nvidia-smi -i N -pl WATTS`")).by("admin")


@check("gpu.temperature", "gpu", N_("No GPU is near its slowdown temperature"), facts=("gpu_health",))
def temperature(facts: Facts):
    """Compares each GPU's temperature with its slowdown threshold (NVML
    `NVML_TEMPERATURE_THRESHOLD_SLOWDOWN`, or nvidia-smi's `temperature.gpu.tlimit`, the degrees
    left before slowdown). Warns within 5 °C of it.

    Why: at the slowdown temperature the GPU cuts its clocks (thermal slowdown); within a few degrees
    of it under load, any warm afternoon makes training slower.

    Fix: the admin checks fans, airflow and the room temperature; `nvidia-smi -q -d TEMPERATURE`
    shows the current value and thresholds.
    """
    if _not_applicable(facts):
        return None
    hot, known = [], 0
    for gpu in _gpus(facts):
        margin = gpu.get("slowdown_margin_c")
        if margin is None:
            continue
        known += 1
        if margin <= TEMPERATURE_MARGIN_C:
            if gpu.get("slowdown_temp_c") is not None:
                hot.append(_("{gpu}: {degrees} °C, {margin} °C below its slowdown temperature ({slowdown} °C)").format(
                    gpu=_label(gpu), degrees=gpu.get("temperature_c"), margin=margin, slowdown=gpu["slowdown_temp_c"]))
            else:
                hot.append(_("{gpu}: {degrees} °C, {margin} °C below its slowdown temperature").format(
                    gpu=_label(gpu), degrees=gpu.get("temperature_c"), margin=margin))
    if not known:
        return skip(_("the GPUs do not report their slowdown temperature"))
    if hot:
        return warn(_("{count} GPU(s) are within {margin} °C of their slowdown temperature").format(
                        count=len(hot), margin=TEMPERATURE_MARGIN_C), details=hot,
                    fix=_("Ask the admin to check the cooling (fans, airflow, inlet temperature): "
                          "{command} shows the thresholds.").format(command="`nvidia-smi -q -d TEMPERATURE`")).by("admin")
    return ok(_("every GPU is well below its slowdown temperature"))


@check("gpu.memory_errors", "gpu", N_("No uncorrectable ECC errors, pending page retirement or row remapping"), facts=("gpu_health",))
def memory_errors(facts: Facts):
    """Reads ECC mode, the volatile (since the last driver load) and aggregate (lifetime)
    uncorrectable ECC error counts, whether retired pages are pending (older GPUs, up to Volta)
    and whether row remapping is pending or has failed (A100, H100 and newer).

    Why: an uncorrectable error kills the CUDA process that hit it ("uncorrectable ECC error
    encountered"). A pending retirement or remap takes effect only after a GPU reset: until then the
    bad memory can be hit again. A remapping failure means the GPU has run out of spare rows and
    needs service.

    Fix: pending retirement/remap or volatile errors: the admin drains the GPU and resets it
    (`sudo nvidia-smi -r -i N`) or reboots. A remapping failure or growing aggregate counts: the
    admin contacts the vendor (RMA), per NVIDIA's GPU memory error management guide.
    """
    if _not_applicable(facts):
        return None
    problems, reset, service, known = [], False, False, 0
    for gpu in _gpus(facts):
        values = [gpu.get(k) for k in ("ecc_uncorrected_volatile", "retired_pages_pending", "remapped_rows_pending",
                                       "remapped_rows_failure")]
        if any(v is not None for v in values):
            known += 1
        if gpu.get("remapped_rows_failure"):
            problems.append(_("{gpu}: row remapping FAILED (no spare rows left)").format(gpu=_label(gpu)))
            service = True
        if gpu.get("remapped_rows_pending"):
            problems.append(_("{gpu}: row remapping pending (takes effect at the next GPU reset)").format(gpu=_label(gpu)))
            reset = True
        if gpu.get("retired_pages_pending"):
            problems.append(_("{gpu}: page retirement pending (takes effect at the next GPU reset)").format(gpu=_label(gpu)))
            reset = True
        if (gpu.get("ecc_uncorrected_volatile") or 0) > 0:
            problems.append(_("{gpu}: {count} uncorrectable ECC error(s) since the driver loaded").format(
                gpu=_label(gpu), count=gpu["ecc_uncorrected_volatile"]))
            reset = True
        elif (gpu.get("ecc_uncorrected_aggregate") or 0) > 0:
            problems.append(_("{gpu}: {count} uncorrectable ECC error(s) over its lifetime "
                              "(none since the driver loaded)").format(gpu=_label(gpu), count=gpu["ecc_uncorrected_aggregate"]))
    if not known:
        return skip(_("the GPUs report no ECC or memory-repair state (GeForce cards have no ECC reporting)"))
    if service:
        return fail(_("a GPU has run out of spare memory rows"), details=problems,
                    fix=_("Ask the admin to take the GPU out of service and contact the vendor (RMA); "
                          "see NVIDIA's GPU memory error management guide.")).by("admin")
    if reset:
        return fail(_("a GPU has memory errors that need a reset"), details=problems,
                    fix=_("Ask the admin to stop the jobs on that GPU and reset it with {command} "
                          "(or reboot the machine), then check {query}.").format(
                              command="`sudo nvidia-smi -r -i N`",
                              query="`nvidia-smi -q -d ECC,ROW_REMAPPER,PAGE_RETIREMENT`")).by("admin")
    if problems:
        return warn(_("a GPU has had uncorrectable memory errors in the past"), details=problems,
                    fix=_("Ask the admin to watch {command}: counts that keep growing mean the GPU needs service.").format(
                        command="`nvidia-smi -q -d ECC`")).by("admin")
    return ok(_("no uncorrectable ECC errors and nothing pending"))


@check("gpu.pcie_link", "gpu", N_("Each GPU's PCIe link runs at its full width"), facts=("gpu_health",))
def pcie_link(facts: Facts):
    """Compares each GPU's current PCIe link width with its maximum (e.g. x8 instead of x16), and
    reports the generation (current vs maximum) as a detail. A lower generation at idle is normal
    power saving: the link trains up under load, so only the width is judged.

    Why: a narrow link halves (x8) or quarters (x4) host-to-device bandwidth: data loading and
    multi-GPU traffic over PCIe become slow. Usually a card in the wrong slot, a riser, or a
    badly seated card.

    Fix: the admin reseats the card or moves it to a full x16 slot (check the board manual for
    slots that share lanes); `nvidia-smi -q -d PCIE` or `sudo lspci -vv` shows LnkSta/LnkCap.
    """
    if _not_applicable(facts):
        return None
    narrow, details, known = [], [], 0
    for gpu in _gpus(facts):
        cur, top = gpu.get("pcie_width_current"), gpu.get("pcie_width_max")
        if cur is None or top is None:
            continue
        known += 1
        line = _("{gpu}: x{width} of x{max_width}, gen {gen} of {max_gen}").format(
            gpu=_label(gpu), width=cur, max_width=top, gen=gpu.get("pcie_gen_current"), max_gen=gpu.get("pcie_gen_max"))
        details.append(line)
        if cur < top:
            narrow.append(line)
    if not known:
        return skip(_("the GPUs do not report their PCIe link"))
    if narrow:
        return warn(_("{count} GPU(s) run a narrower PCIe link than they support").format(count=len(narrow)), details=narrow,
                    fix=_("Ask the admin to reseat the card or move it to a full x16 slot; confirm with "
                          "{command} (and {bench} for the host-to-device bandwidth).").format(
                              command="`nvidia-smi -q -d PCIE`", bench="`envcheck gpu-bench`")).by("admin")
    return ok(_("every GPU's PCIe link is at full width"), details=details)


@check("gpu.compute_mode", "gpu", N_("No GPU is in Exclusive-Process or Prohibited compute mode"), facts=("gpu_health",))
def compute_mode(facts: Facts):
    """Reads each GPU's compute mode: Default, Exclusive_Process (one CUDA process at a time) or
    Prohibited (no CUDA process).

    Why: in Exclusive-Process mode a second process on the same GPU (a second DataLoader worker that
    touches CUDA, a notebook beside a job, a DDP launch that puts two ranks on one GPU) fails with
    "CUDA-capable device(s) is/are busy or unavailable". Clusters set it on purpose; elsewhere it is
    a leftover. Prohibited mode refuses every CUDA process.

    Fix: on a cluster, run one process per GPU. Otherwise the admin sets Default mode with
    `sudo nvidia-smi -i N -c DEFAULT`.
    """
    if _not_applicable(facts):
        return None
    modes = {g.get("index"): g.get("compute_mode") for g in _gpus(facts) if g.get("compute_mode")}
    if not modes:
        return skip(_("the GPUs do not report their compute mode"))
    prohibited = [f"GPU {i}" for i, m in modes.items() if m == "Prohibited"]
    exclusive = [f"GPU {i}" for i, m in modes.items() if m.replace(" ", "_").lower().startswith("exclusive")]
    if prohibited:
        return fail(_("{gpus} in Prohibited compute mode: no CUDA process can use it").format(gpus=_gpu_names(prohibited)),
                    fix=_("Ask the admin: {command}.").format(command="`sudo nvidia-smi -i N -c DEFAULT`")).by("admin")
    if exclusive:
        return warn(_("{gpus} in Exclusive-Process compute mode: a second CUDA process on it fails with "
                      "\"busy or unavailable\"").format(gpus=_gpu_names(exclusive)),
                    fix=_("Run one process per GPU (one DDP rank per GPU, no CUDA in DataLoader workers); to allow "
                          "sharing, the admin runs {command}.").format(command="`sudo nvidia-smi -i N -c DEFAULT`")
                    ).by("admin")
    return ok(_("every GPU is in Default compute mode"))


@check("gpu.persistence", "gpu", N_("Persistence mode is on (Linux)"), facts=("gpu_health",))
def persistence(facts: Facts):
    """Reads each GPU's persistence mode.

    Why: with persistence off, the driver tears the GPU state down when the last process exits and
    rebuilds it at the next start: each `python train.py`, `nvidia-smi` call and test run loses one
    to several seconds (more with many GPUs) before CUDA is ready. NVIDIA recommends the
    persistence daemon on Linux servers.

    Fix: the admin enables the daemon (`sudo systemctl enable --now nvidia-persistenced`) or runs
    `sudo nvidia-smi -pm 1` (lost at reboot).
    """
    if _not_applicable(facts):
        return None
    modes = {g.get("index"): g.get("persistence_mode") for g in _gpus(facts) if g.get("persistence_mode")}
    if not modes:
        return skip(_("the GPUs do not report persistence mode"))
    off = [f"GPU {i}" for i, m in modes.items() if str(m).lower() != "enabled"]
    if off:
        return warn(_("persistence mode is off on {gpus}: each CUDA start pays the driver's set-up time again").format(
                        gpus=_gpu_names(off)),
                    fix=_("Ask the admin: {command} (or {other}, lost at reboot).").format(
                        command="`sudo systemctl enable --now nvidia-persistenced`", other="`sudo nvidia-smi -pm 1`")
                    ).by("admin")
    return ok(_("persistence mode is on"))


@check("gpu.mig", "gpu", N_("MIG mode and what it means for CUDA_VISIBLE_DEVICES"), facts=("gpu_health",))
def mig(facts: Facts):
    """Reports GPUs with MIG (Multi-Instance GPU) mode enabled.

    Why: a MIG-enabled GPU cannot be used whole. CUDA sees only MIG instances, one per process,
    selected by `CUDA_VISIBLE_DEVICES=MIG-<uuid>`; `cuda:0` is that instance with its share of memory
    and SMs; NCCL cannot run collectives across MIG instances, so DDP over them fails.

    Fix: pick an instance from `nvidia-smi -L` and set `CUDA_VISIBLE_DEVICES=MIG-<uuid>` (yours to
    do). To use the whole GPU the admin disables MIG: `sudo nvidia-smi -i N -mig 0` (then a GPU reset).
    """
    if _not_applicable(facts):
        return None
    enabled = [g for g in _gpus(facts) if str(g.get("mig_mode") or "").lower() == "enabled"]
    if not enabled:
        return None
    return warn(_("MIG is enabled on {gpus}: CUDA sees MIG instances, not the whole GPU").format(
                    gpus=_gpu_names([_label(g) for g in enabled])),
                fix=_("Select one instance per process: {value} (from {command}); DDP/NCCL across instances is not "
                      "supported. To use the whole GPU, ask the admin for {disable}.").format(
                          value="`CUDA_VISIBLE_DEVICES=MIG-<uuid>`", command="`nvidia-smi -L`",
                          disable="`sudo nvidia-smi -i N -mig 0`")).by("you")


@check("gpu.nvlink", "gpu", N_("Every NVLink link is up"), facts=("gpu_health",))
def nvlink(facts: Facts):
    """Reads the state of each NVLink link of each GPU (NVML `nvmlDeviceGetNvLinkState`). GPUs
    without NVLink are not judged.

    Why: a link that is down makes GPU-to-GPU traffic fall back to fewer links or to PCIe: NCCL
    all_reduce and DDP become several times slower, with no error.

    Fix: the admin checks `nvidia-smi nvlink -s` and `nvidia-smi nvlink -e` (error counters); a GPU
    reset or reboot may bring a link back; a link that stays down needs the vendor. On NVSwitch
    systems (HGX/DGX) the fabric manager must run: `systemctl status nvidia-fabricmanager`.
    """
    if _not_applicable(facts):
        return None
    with_links = [g for g in _gpus(facts) if g.get("nvlink")]
    if not with_links:
        return None
    down = [_("{gpu}: link(s) {links} down").format(
                gpu=_label(g), links=join(str(l["link"]) for l in g["nvlink"] if l.get("state") != "up"))
            for g in with_links if any(l.get("state") != "up" for l in g["nvlink"])]
    if down:
        return fail(_("NVLink links are down on {count} GPU(s): GPU-to-GPU traffic is slower").format(count=len(down)),
                    details=down,
                    fix=_("Ask the admin to check {status} / {errors}, that nvidia-fabricmanager runs on NVSwitch "
                          "systems, and to reset the GPU or reboot; a link that stays down needs service.").format(
                              status="`nvidia-smi nvlink -s`", errors="`nvidia-smi nvlink -e`")).by("admin")
    total = sum(len(g["nvlink"]) for g in with_links)
    return ok(_("all {total} NVLink links of {count} GPU(s) are up").format(total=total, count=len(with_links)))


@check("gpu.p2p", "gpu", N_("GPU pairs can reach each other peer-to-peer"), facts=("gpu_health",))
def p2p(facts: Facts):
    """Reads the peer-to-peer (P2P) read status of every GPU pair (NVML `nvmlDeviceGetP2PStatus`,
    or `nvidia-smi topo -p2p r`). Only machines with two or more GPUs are judged.

    Why: without P2P, GPU-to-GPU copies and NCCL traffic go through host memory, at a fraction of
    the speed. GeForce cards report "GPU not supported" (GNS) over PCIe by design; on data-centre
    GPUs a "chipset/topology not supported" usually means IOMMU/ACS settings or a VM without P2P.

    Fix: for GeForce cards nothing to fix (NCCL uses shared memory; expect lower multi-GPU speed).
    Otherwise the admin checks the BIOS/kernel IOMMU and PCIe ACS settings (NCCL's troubleshooting
    guide: disable ACS or set `iommu=pt`).
    """
    health = _health(facts)
    pairs = [p for p in health.get("p2p") or [] if isinstance(p, dict) and p.get("status")]
    if len(_gpus(facts)) < 2 or not pairs:
        return None
    from envcheck.facts.gpu_health import P2P_STATUS_TEXT

    bad = [p for p in pairs if p["status"] != "OK"]
    if not bad:
        return ok(_("all {count} GPU pairs support P2P").format(count=len(pairs)))
    details = [_("GPU {a} <-> GPU {b}: {status} ({meaning})").format(
                   a=p["a"], b=p["b"], status=p["status"], meaning=_(P2P_STATUS_TEXT.get(p["status"], "unknown")))
               for p in bad]
    geforce = all("geforce" in str(g.get("name") or "").lower() or "rtx" in str(g.get("name") or "").lower()
                  for g in _gpus(facts))
    finding = warn(_("{count} of {total} GPU pairs have no P2P: their traffic goes through host memory").format(
                       count=len(bad), total=len(pairs)), details=details,
                   fix=(_("These are GeForce cards: NVIDIA does not enable P2P over PCIe for them; NCCL falls back to "
                          "shared memory, so expect lower multi-GPU bandwidth.") if geforce else
                        _("Ask the admin to check IOMMU ({setting}) and PCIe ACS settings (NCCL troubleshooting guide), "
                          "or whether this VM passes P2P through.").format(setting="`iommu=pt`")))
    return finding.by(None if geforce else "admin")


@check("gpu.nccl_env", "gpu", N_("NCCL_* variables agree with the topology"), facts=("gpu_health",))
def nccl_env(facts: Facts):
    """Lists the NCCL_* environment variables that are set and flags those that contradict this
    machine: NCCL_P2P_DISABLE=1 where GPUs are NVLink-connected, NCCL_SHM_DISABLE=1 together with
    P2P disabled on one machine, NCCL_P2P_LEVEL=LOC (no P2P at all), and NCCL_DEBUG left at INFO/TRACE
    (very verbose logs).

    Why: such variables are often copied from a forum answer for another machine (or a driver bug
    long fixed) and then forgotten in ~/.bashrc: NCCL_P2P_DISABLE=1 on an NVLink machine sends all
    traffic through host memory, several times slower, and nothing says so.

    Fix: unset the variable (`unset NCCL_P2P_DISABLE`) and remove it from ~/.bashrc, the job script or
    the container's environment; yours to do.
    """
    health = _health(facts)
    env = health.get("nccl_env") or {}
    if not env:
        return None
    topo = health.get("topology") or {}
    nvlinked = any((p.get("nvlinks") or 0) > 0 for p in topo.get("pairs") or []) or any(
        any(l.get("state") == "up" for l in g.get("nvlink") or []) for g in _gpus(facts))
    listed = [f"{k}={v}" for k, v in env.items()]
    problems: list[tuple[str, str]] = []  # (the variable to unset, what is wrong)
    truthy = lambda v: str(v).strip().lower() not in ("", "0", "false", "no")  # noqa: E731
    if truthy(env.get("NCCL_P2P_DISABLE", "")) and nvlinked:
        problems.append(("NCCL_P2P_DISABLE", _("{name} is set on a machine whose GPUs are NVLink-connected: NCCL will not "
                                               "use NVLink").format(name="NCCL_P2P_DISABLE")))
    if truthy(env.get("NCCL_P2P_DISABLE", "")) and truthy(env.get("NCCL_SHM_DISABLE", "")):
        problems.append(("NCCL_P2P_DISABLE", _("{name} and {other} together leave only the network between GPUs of one "
                                               "machine").format(name="NCCL_P2P_DISABLE", other="NCCL_SHM_DISABLE")))
    if str(env.get("NCCL_P2P_LEVEL", "")).strip().upper() in ("LOC", "0") and len(_gpus(facts)) > 1:
        problems.append(("NCCL_P2P_LEVEL", _("{setting} disables P2P between every GPU pair").format(
            setting="NCCL_P2P_LEVEL=LOC")))
    if str(env.get("NCCL_DEBUG", "")).strip().upper() in ("INFO", "TRACE"):
        problems.append(("NCCL_DEBUG", _("{setting} prints many lines per rank at start-up (fine while debugging)").format(
            setting=f"NCCL_DEBUG={env['NCCL_DEBUG']}")))
    if not problems:
        return ok(_("{count} NCCL_* variable(s) set, none contradicts this machine").format(count=len(env)), details=listed)
    names = sorted({name for name, _text in problems})
    texts = [text for _name, text in problems]
    summary = texts[0] if len(texts) == 1 else _("{problem} (+{count} more)").format(problem=texts[0], count=len(texts) - 1)
    fix = _("Unset {names} ({command}) and remove it from ~/.bashrc, your job script or the container's "
            "environment.").format(names=join(names), command=f"`unset {' '.join(names)}`")
    if all(n == "NCCL_DEBUG" for n in names):
        return warn(summary, details=texts + listed, fix=fix).by("you")
    return fail(summary, details=texts + listed, fix=fix).by("you")
