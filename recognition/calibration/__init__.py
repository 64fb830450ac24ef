"""The calibration page (views) and its histogram chart, drawn as SVG from stored numbers (chart)."""
