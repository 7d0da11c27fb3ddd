"""neocus: screening newborns for severe brain lesions on cranial ultrasound.

Research software after Lin et al., Nat Commun 16:7778 (2025). Bundled models are trained on the
neocus phantom, not on patients; neocus is not a clinical device.
"""

__version__ = "0.1.0"
