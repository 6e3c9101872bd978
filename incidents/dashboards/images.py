"""A dashboard chart as a PNG or SVG image, drawn on the server from the same Chart the page
draws with Chart.js, so a chart can be shared or printed without a browser running scripts.

matplotlib is imported when an image is asked for, not when the site starts."""

import io
import math
import textwrap

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
GREY = "#9ca3af"


def _colour(value, index):
    if isinstance(value, list):
        value = value[index] if index < len(value) else GREY
    value = value or GREY
    return value[:7] if value.startswith("#") else value


def _values(data):
    return [math.nan if value is None else value for value in data]


def _axis_title(scales, name):
    title = scales.get(name, {}).get("title", {})
    return title.get("text", "") if title.get("display") else ""


def _integer_axis(axis, scale):
    from matplotlib.ticker import MaxNLocator  # matplotlib loads only when an image is drawn

    if scale.get("ticks", {}).get("precision") == 0:
        axis.set_major_locator(MaxNLocator(integer=True))


def _draw_config(figure, chart):
    config = chart.config
    labels = config["data"]["labels"]
    datasets = config["data"]["datasets"]
    options = config.get("options", {})
    scales = options.get("scales", {})
    horizontal = options.get("indexAxis") == "y"
    stacked = scales.get("x", {}).get("stacked", False)
    partial = chart.partial or [False] * len(labels)
    ax = figure.add_subplot()
    second = None
    positions = list(range(len(labels)))
    bars = [d for d in datasets if d.get("type", config["type"]) == "bar"]
    width = 0.8 if stacked or len(bars) < 2 else 0.8 / len(bars)
    base = [0.0] * len(labels)
    for dataset in datasets:
        kind = dataset.get("type", config["type"])
        target = ax
        if dataset.get("yAxisID") == "y1":
            second = second or ax.twinx()
            target = second
        values = _values(dataset["data"])
        if kind == "bar":
            offset = 0 if stacked or len(bars) < 2 else (bars.index(dataset) - (len(bars) - 1) / 2)
            at = [p + offset * width for p in positions]
            colours = [_colour(dataset.get("backgroundColor"), i) for i in positions]
            heights = [0 if math.isnan(v) else v for v in values]
            draw = target.barh if horizontal else target.bar
            kwargs = {"left" if horizontal else "bottom": base} if stacked else {}
            drawn = draw(at, heights, width, color=colours, label=dataset["label"], **kwargs)
            for bar, is_partial in zip(drawn, partial, strict=False):
                if is_partial:
                    bar.set_alpha(0.45)
                    bar.set_hatch("//")
            if stacked:
                base = [b + h for b, h in zip(base, heights, strict=True)]
        elif kind == "scatter":
            target.scatter(
                positions,
                values,
                marker="^",
                s=60,
                color=_colour(dataset.get("backgroundColor"), 0),
                label=dataset["label"],
                zorder=3,
            )
        else:
            # NaN breaks the line: no line is drawn across a period nothing was measured in.
            colour = _colour(dataset.get("borderColor"), 0)
            target.plot(positions, values, color=colour, label=dataset["label"], marker=".")
            for p in positions:
                if partial[p] and not math.isnan(values[p]):
                    target.plot([p], [values[p]], marker="o", mfc="white", color=colour)
    (ax.set_yticks if horizontal else ax.set_xticks)(positions)
    step = max(1, math.ceil(len(labels) / 16))
    shown = [label if i % step == 0 else "" for i, label in enumerate(labels)]
    if horizontal:
        ax.set_yticklabels(shown)
        ax.invert_yaxis()
        _integer_axis(ax.xaxis, scales.get("x", {}))
    else:
        ax.set_xticklabels(shown, rotation=45 if len(labels) > 6 else 0, ha="right")
        _integer_axis(ax.yaxis, scales.get("y", {}))
    ax.set_xlabel(_axis_title(scales, "x"))
    ax.set_ylabel(_axis_title(scales, "y"))
    if second is not None:
        second.set_ylabel(_axis_title(scales, "y1"))
        _integer_axis(second.yaxis, scales.get("y1", {}))
    handles, names = ax.get_legend_handles_labels()
    if second is not None:
        more, more_names = second.get_legend_handles_labels()
        handles, names = handles + more, names + more_names
    if handles:
        ax.legend(handles, names, fontsize="small", loc="best")
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)


def _draw_heatmap(figure, chart):
    names = chart.columns[1:]
    counts = [row[1:] for row in chart.rows]
    ax = figure.add_subplot()
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(
        range(len(names)), [textwrap.shorten(n, 24) for n in names], rotation=45, ha="right"
    )
    ax.set_yticks(range(len(names)), [textwrap.shorten(n, 24) for n in names])
    for y, row in enumerate(counts):
        for x, count in enumerate(row):
            ax.text(x, y, str(count), ha="center", va="center", fontsize="small")


def render(chart, fmt):
    """The chart as image bytes in `fmt` ("png" or "svg"), with its title, axis titles,
    legend and notes (the partial-period note among them)."""
    # matplotlib takes a while to import and most requests draw no image.
    from matplotlib import rc_context
    from matplotlib.figure import Figure  # (as above)

    # Text stays text in the SVG: searchable, selectable and read by screen readers.
    with rc_context({"svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(9, 5.5), dpi=120, layout="constrained")
        if chart.heatmap:
            _draw_heatmap(figure, chart)
        else:
            _draw_config(figure, chart)
        figure.suptitle(chart.title, fontweight="bold")
        notes = [chart.description, *chart.notes]
        wrapped = "\n".join(textwrap.fill(note, 130) for note in notes if note)
        # As the figure's x label, the layout makes room for the notes below the axes.
        figure.supxlabel(wrapped, fontsize="x-small", color="#374151", x=0.01, ha="left")
        out = io.BytesIO()
        figure.savefig(out, format=fmt, metadata={"Title": chart.title} if fmt == "svg" else None)
    return out.getvalue()
