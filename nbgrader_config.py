"""nbgrader settings for this course (the course root is this folder).

`dlcourse release` runs nbgrader's generate_assignment with these settings; instructors can
also use nbgrader's own commands here. The course gradebook (`gradebook.db`) holds only the
assignments, their cells and max scores; grades go to a working copy in `grading/`.
"""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
