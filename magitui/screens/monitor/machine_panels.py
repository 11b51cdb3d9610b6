"""The Monitor's machine panels: GPUs, system load and disks, each a Static that
renders one snapshot. Sparklines are text, so a panel is one cheap update per poll."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from textual.content import Content

from magitui.widgets.border_text import set_border_subtitle
from magitui.widgets.live_static import LiveStatic
from magitui_core.machine.disks import DiskReport, format_binary
from magitui_core.machine.gpu import GpuInfo, GpuSnapshot
from magitui_core.machine.system_stats import SystemSnapshot

BLOCKS = "▁▂▃▄▅▆▇█"
HISTORY = 24  # samples kept per sparkline: about half a minute at one poll a second


def sparkline(values: Iterable[float], maximum: float = 100.0) -> str:
    """Percentages as block characters, oldest first."""
    chars = []
    for value in values:
        level = 0 if maximum <= 0 else int(max(0.0, min(value, maximum)) / maximum * 7.999)
        chars.append(BLOCKS[level])
    return "".join(chars)


def bar(percent: float, width: int = 10) -> str:
    filled = round(max(0.0, min(percent, 100.0)) / 100.0 * width)
    return "█" * filled + "░" * (width - filled)


def level_colour(percent: float) -> str:
    return "$error" if percent >= 90 else "$warning" if percent >= 75 else "$success"


def _or_dash(value: object, unit: str = "") -> str:
    return "—" if value is None else f"{value}{unit}"


class History:
    """Recent values per series (one per GPU), for sparklines."""

    def __init__(self) -> None:
        self._series: dict[str, deque[float]] = {}

    def add(self, key: str, value: float | None) -> str:
        series = self._series.setdefault(key, deque(maxlen=HISTORY))
        if value is not None:
            series.append(value)
        return sparkline(series)


class GpuPanel(LiveStatic):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content.from_markup("[$text-muted]Reading GPUs…[/]"), id=id)
        self.history = History()

    def show(self, snapshot: GpuSnapshot) -> None:
        if not snapshot.available:
            set_border_subtitle(self, "")
            self.show_content(
                Content.from_markup(
                    "[$text-muted]$message.[/] "
                    "[dim]GPU figures appear here when a driver and a GPU are present.[/]",
                    message=snapshot.message,
                )
            )
            return
        set_border_subtitle(self, f"driver {snapshot.driver_version or '?'}")
        lines: list[Content] = []
        for gpu in snapshot.gpus:
            lines += self._gpu_lines(gpu)
        self.show_content(Content("\n").join(lines))

    def show_stalled(self, seconds: float) -> None:
        set_border_subtitle(self, "not answering")
        self.show_content(
            Content.from_markup(
                "[$warning]NVML has not answered for $seconds s[/] — the driver may be busy or "
                "hung; figures resume when it answers. Load and disks keep updating.",
                seconds=f"{seconds:.0f}",
            )
        )

    def _gpu_lines(self, gpu: GpuInfo) -> list[Content]:
        util = gpu.utilization
        spark = self.history.add(f"{gpu.index}", util)
        mem_pct = (
            100.0 * gpu.memory_used / gpu.memory_total
            if gpu.memory_used is not None and gpu.memory_total
            else None
        )
        if gpu.power_watts is None:
            power = "—"
        else:
            limit = f"/{gpu.power_limit_watts:.0f}" if gpu.power_limit_watts else ""
            power = f"{gpu.power_watts:.0f}{limit}W"
        head = Content.from_markup(
            "[b]$index[/b] $name  [$colour]$util[/] [$primary]$spark[/]",
            index=f"GPU{gpu.index}",
            name=gpu.name,
            colour=level_colour(util or 0),
            util=_or_dash(util, "%"),
            spark=spark,
        )
        memory = "—" if gpu.memory_used is None else format_binary(gpu.memory_used)
        total = "—" if gpu.memory_total is None else format_binary(gpu.memory_total)
        detail = Content.from_markup(
            "  mem [$colour]$memory[/]/$total  $temp  $power  $clocks",
            colour=level_colour(mem_pct or 0),
            memory=memory,
            total=total,
            temp=_or_dash(gpu.temperature, "°C"),
            power=power,
            clocks=f"{_or_dash(gpu.clock_sm_mhz)}/{_or_dash(gpu.clock_mem_mhz)} MHz",
        )
        lines = [head, detail]
        for proc in gpu.processes:
            lines.append(
                Content.from_markup(
                    "  [dim]pid[/] $pid $user $mem [$accent]$job[/] [dim]$command[/]",
                    pid=str(proc.pid),
                    user=(proc.user or "?")[:10],
                    mem=_or_dash(proc.gpu_memory and format_binary(proc.gpu_memory)),
                    job=f"job {proc.job_id}" if proc.job_id else "",
                    command=proc.command[:60],
                )
            )
        return lines


class SystemPanel(LiveStatic):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content.from_markup("[$text-muted]Reading load…[/]"), id=id)
        self.history = History()

    def show(self, snapshot: SystemSnapshot) -> None:
        spark = self.history.add("cpu", snapshot.cpu_average)
        cores = " ".join(
            f"{index}:{percent:3.0f}%" for index, percent in enumerate(snapshot.cpu_per_core)
        )
        load = " ".join(f"{value:.2f}" for value in snapshot.load_average)
        swap = (
            f"{format_binary(snapshot.swap_used)}/{format_binary(snapshot.swap_total)}"
            if snapshot.swap_total
            else "none"
        )
        lines = [
            Content.from_markup(
                "CPU  [$colour]$avg[/] [$primary]$spark[/]  [dim]load[/] $load",
                colour=level_colour(snapshot.cpu_average),
                avg=f"{snapshot.cpu_average:3.0f}%",
                spark=spark,
                load=load,
            ),
            Content.from_markup("[dim]$cores[/]", cores=cores),
            Content.from_markup(
                "RAM  [$colour]$bar[/] $used/$total   [dim]swap[/] $swap",
                colour=level_colour(snapshot.ram_percent),
                bar=bar(snapshot.ram_percent),
                used=format_binary(snapshot.ram_used),
                total=format_binary(snapshot.ram_total),
                swap=swap,
            ),
        ]
        self.show_content(Content("\n").join(lines))


class DiskPanel(LiveStatic):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content.from_markup("[$text-muted]Reading disks…[/]"), id=id)

    def show(self, report: DiskReport) -> None:
        lines: list[Content] = []
        for disk in report.disks:
            colour = level_colour(disk.percent) if not disk.is_low else "$error"
            roles = ", ".join(disk.roles)
            lines.append(
                Content.from_markup(
                    "[$mark]$mount[/] [$colour]$bar[/] $free free of $total [dim]$fs[/]"
                    " [$accent]$roles[/]",
                    mark="b $accent" if disk.roles else "$foreground",
                    mount=disk.mountpoint[:24],
                    colour=colour,
                    bar=bar(disk.percent, 8),
                    free=format_binary(disk.free),
                    total=format_binary(disk.total),
                    fs=disk.fstype,
                    roles=f"◆ {roles}" if roles else "",
                )
            )
        if not lines:
            lines.append(Content.from_markup("[$text-muted]No partitions readable.[/]"))
        for warning in report.warnings:
            lines.append(Content.from_markup("[$warning]⚠ $text[/]", text=warning))
        self.show_content(Content("\n").join(lines))


def role_summary(report: DiskReport, role: str) -> str | None:
    """ "/ · 12.3G free" for the partition holding ``role``, if known."""
    for disk in report.disks:
        if role in disk.roles:
            return f"{disk.mountpoint} {format_binary(disk.free)} free"
    return None
