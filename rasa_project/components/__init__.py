"""Custom NLU components of the Riverside Dental project (loaded by `rasa` from the project directory).

Importing the package also makes Rasa's per-turn JSON schema validation cheap (schema_cache.py): the server
imports it when it loads a model that uses these components, before it serves a turn.
"""

from components import schema_cache

schema_cache.install()
