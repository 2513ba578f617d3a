"""Knowledge as data: one rule per YAML file under `rules/<category>/`, device targets under `rules/targets/`.

This package holds no code; it exists so that the YAML files ship with the installed package and are found through
`importlib.resources`.
"""
