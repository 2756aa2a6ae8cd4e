"""Self-check functions that learners call from the exercises, one module per lesson.

Each returns a short, friendly message and raises nothing for a wrong answer,
so a learner can try again without a traceback.
"""
