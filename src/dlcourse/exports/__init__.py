"""Grades out of dlcourse, in the formats other systems read: Canvas's gradebook CSV and
Gradescope's autograder ``results.json`` (the otter-grader zip is :mod:`dlcourse.otter_export`)."""
