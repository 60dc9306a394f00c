"""Meeting insights: a summary, action items, decisions, questions, topics and sentiment, made
after a meeting by a provider (``local`` offline by default, ``openai`` with a language model)."""
