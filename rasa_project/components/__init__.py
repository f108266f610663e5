"""Custom NLU components of the Riverside Dental project (loaded by `rasa` from the project directory)."""
