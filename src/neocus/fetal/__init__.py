"""Fetal head and brain measurement (issue #16): skull ellipse, gestational-age norms, HC18 reader."""
