"""Resource files of persian-stance (actor gazetteer, boilerplate patterns).

Installed as ``persian_stance.resources`` so that the runtime finds them with
``importlib.resources`` both in a source checkout and in an installed wheel.
"""
