"""Shared network building blocks in plain torch (no timm / torchvision at run time).

Backbones keep timm's parameter names, so ImageNet weights saved by timm load from a local file.
Import the module you need (e.g. ``neocus.nets.convnext``); this package re-exports nothing, so that
importing one backbone does not load the others.
"""
