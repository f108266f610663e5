"""Custom actions of the Riverside Dental Clinic agent (rasa-sdk)."""
