"""Prompting for query parameters (docs/parameters.rst).

Prompts happen lazily, when a parameter is first read, with ctools' text
(docs/differences.rst, "Prompting").  Answers come from a pipe here
(StreamPrompter on StringIO streams): an empty answer keeps the value,
quotes around an answer are removed, an invalid answer from a pipe is an
error, and at end of input the value is kept with the warning
``no answer for "<name>", using "<value>"``.
"""

from __future__ import annotations

import io

import pytest

from iactcopy.errors import ParameterError
from iactcopy.params.cmdline import apply_arguments
from iactcopy.params.parameters import ValueSource, prompt_text
from iactcopy.params.pfiles import load_parameters, save_learned
from iactcopy.params.prompting import StreamPrompter


def piped(answers: str) -> tuple[StreamPrompter, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return StreamPrompter(io.StringIO(answers), stdout, stderr), stdout, stderr


# -- prompt text ------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "shown"), [
    ('inobs, f, a, events.fits,,, "Input event list or observation definition XML file"',
     "Input event list or observation definition XML file [events.fits] "),
    ('enumbins, i, a, 20,1,200, "Number of energy bins"', "Number of energy bins (1-200) [20] "),
    ('yref, r, a, 22.51,-90,90, "Second coordinate ..."',
     "Second coordinate ... (-90-90) [22.51] "),
    ('coordsys, s, a, CEL,CEL|GAL,,"Coordinate system (CEL - celestial, GAL - galactic)"',
     "Coordinate system (CEL - celestial, GAL - galactic) (CEL|GAL) [CEL] "),
    ('p4, i, q, 3,,5, "Only max"', "Only max (5) [3] "),
    ('ebinfile, f, a, NONE,,, "Name of the file containing the energy bin definition"',
     "Name of the file containing the energy bin definition [NONE] "),
])
def test_prompt_text(make_set, line, shown):
    pset = make_set(line + '\nmode, s, h, ql,,, "m"\n')
    par = pset[0]
    assert prompt_text(par) == shown
    prompter, stdout, _ = piped("\n")
    pset.prompter = prompter
    pset.value(par.name)
    assert stdout.getvalue() == shown + "\n"


# -- when prompts happen -------------------------------------------------------------------

PAR = """\
    p1, r, a, 1.5,0,10, "Real value"
    coordsys, s, a, CEL,CEL|GAL,, "Coord sys"
    infile, f, a, NONE,,, "Input file"
    hidden, s, h, secret,,, "Hidden"
    query, s, q, asked,,, "Plain query"
    mode, s, h, ql,,, "m"
"""


def test_prompts_are_lazy_and_happen_once(make_set):
    prompter, stdout, _ = piped("5\ngal\n\n")
    pset = make_set(PAR, prompter=prompter)
    assert stdout.getvalue() == ""                       # loading asks nothing
    assert pset["p1"].current_value() == "1.5"           # nor does current_value()
    assert stdout.getvalue() == ""
    assert pset.real("p1") == 5.0
    assert pset.real("p1") == 5.0                        # asked once only
    assert pset.string("coordsys") == "gal"
    assert pset.is_valid("infile") is False              # any reading accessor asks
    assert pset.string("hidden") == "secret"
    assert stdout.getvalue() == ("Real value (0-10) [1.5] 5\n"
                                 "Coord sys (CEL|GAL) [CEL] gal\n"
                                 "Input file [NONE] \n")
    assert pset["p1"].source is ValueSource.PROMPT


def test_the_reading_order_decides_the_prompt_order(make_set):
    prompter, stdout, _ = piped("\n\n")
    pset = make_set(PAR, prompter=prompter)
    pset.value("infile")
    pset.value("p1")
    assert stdout.getvalue().splitlines() == ["Input file [NONE] ", "Real value (0-10) [1.5] "]


def test_values_set_before_reading_are_not_prompted(make_set):
    prompter, stdout, _ = piped("")
    pset = make_set(PAR, prompter=prompter)
    apply_arguments(pset, ["p1=2"])
    pset.set("coordsys", "GAL")
    assert pset.real("p1") == 2.0
    assert pset.string("coordsys") == "GAL"
    assert stdout.getvalue() == ""


def test_a_value_can_be_set_after_the_prompt(make_set):
    prompter, _, _ = piped("3\n")
    pset = make_set(PAR, prompter=prompter)
    assert pset.real("p1") == 3.0
    pset.set("p1", 4)
    assert pset.real("p1") == 4.0


def test_plain_query_mode_is_prompted_and_not_learned(make_set):
    prompter, stdout, _ = piped("changed\n")
    pset = make_set(PAR, prompter=prompter)
    assert pset.string("query") == "changed"
    assert stdout.getvalue() == "Plain query [asked] changed\n"
    assert "query" not in pset.learned_values()


def test_mode_h_suppresses_automatic_prompts(make_set):
    prompter, stdout, _ = piped("")
    pset = make_set(PAR, prompter=prompter)
    apply_arguments(pset, ["mode=h"])
    assert pset.real("p1") == 1.5
    assert pset.string("coordsys") == "CEL"
    assert stdout.getvalue() == ""


def test_without_a_prompter_nothing_is_asked(make_set):
    pset = make_set(PAR)
    assert pset.real("p1") == 1.5


# -- answers ---------------------------------------------------------------------------

def test_reference_session_from_a_pipe(make_set):
    # ctools' example session, stdin "  20 \n5\n gal\n\n".  Here the invalid
    # first answer from a pipe is an error (nobody can correct it).
    prompter, _, _ = piped("  20 \n5\n gal\n\n")
    pset = make_set(PAR, prompter=prompter)
    with pytest.raises(ParameterError) as info:
        pset.real("p1")
    message = str(info.value)
    assert '"p1"' in message and "20" in message and "0 to 10" in message
    assert info.value.exit_status == 2
    assert pset["p1"].text == "1.5"


def test_invalid_answer_keeps_the_parameter_unsettled(make_set):
    prompter, _, _ = piped("abc\n5\n")
    pset = make_set(PAR, prompter=prompter)
    with pytest.raises(ParameterError, match="'abc'"):
        pset.real("p1")
    assert pset.real("p1") == 5.0        # asked again at the next read


def test_answers_are_stripped_and_unquoted(make_set):
    prompter, _, _ = piped('  "my file.fits"  \n gal \n')
    pset = make_set(PAR, prompter=prompter)
    assert pset.value("infile") == "my file.fits"
    assert pset.value("coordsys") == "gal"


def test_inner_quotes_of_an_answer_stay(make_set):
    prompter, _, _ = piped('a "b" c\n')
    pset = make_set('t, s, a, x,,, "T"\nmode, s, h, ql,,, "m"\n', prompter=prompter)
    assert pset.value("t") == 'a "b" c'


def test_empty_answer_keeps_the_value(make_set):
    prompter, _, stderr = piped("\n   \n")
    pset = make_set(PAR, prompter=prompter)
    assert pset.real("p1") == 1.5
    assert pset.string("coordsys") == "CEL"
    assert pset["p1"].source is ValueSource.DEFAULT
    assert pset.warnings == [] and stderr.getvalue() == ""
    assert pset.learned_values() == {}


def test_end_of_input_keeps_the_value_and_warns(make_set):
    warned = []
    prompter, stdout, _ = piped("")
    pset = make_set(PAR, prompter=prompter, warn=warned.append)
    assert pset.real("p1") == 1.5
    assert not pset.is_valid("infile")
    assert warned == ['no answer for "p1", using "1.5"', 'no answer for "infile", using "NONE"']
    assert pset.warnings == warned
    assert stdout.getvalue() == "Real value (0-10) [1.5] \nInput file [NONE] \n"
    # Asked once: the next read neither asks nor warns again.
    pset.real("p1")
    assert len(warned) == 2


def test_answers_run_out_midway(make_set):
    warned = []
    prompter, _, _ = piped("7\n")
    pset = make_set(PAR, prompter=prompter, warn=warned.append)
    assert pset.real("p1") == 7.0
    assert pset.string("coordsys") == "CEL"
    assert warned == ['no answer for "coordsys", using "CEL"']


def test_crlf_answers(make_set):
    prompter, _, _ = piped("6\r\nGAL\r\n")
    pset = make_set(PAR, prompter=prompter)
    assert pset.real("p1") == 6.0
    assert pset.string("coordsys") == "GAL"


class TerminalPrompter:
    """A prompter that behaves as if a user sat at a terminal."""

    interactive = True

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked, self.errors = [], []

    def ask(self, text, *, complete_paths=False):
        self.asked.append((text, complete_paths))
        return self.answers.pop(0) if self.answers else None

    def show_error(self, message):
        self.errors.append(message)


def test_invalid_answer_at_a_terminal_is_asked_again(make_set):
    prompter = TerminalPrompter(["20", "abc", "5"])
    pset = make_set(PAR, prompter=prompter)
    assert pset.real("p1") == 5.0
    assert [text for text, _ in prompter.asked] == ["Real value (0-10) [1.5] "] * 3
    assert len(prompter.errors) == 2
    assert "20" in prompter.errors[0] and "0 to 10" in prompter.errors[0]
    assert "'abc'" in prompter.errors[1]


def test_file_names_are_asked_with_path_completion(make_set):
    prompter = TerminalPrompter(["", ""])
    pset = make_set(PAR, prompter=prompter)
    pset.value("infile")
    pset.value("p1")
    assert [completes for _, completes in prompter.asked] == [True, False]


def test_stream_prompter_is_not_interactive_on_a_pipe():
    prompter, _, stderr = piped("")
    assert prompter.interactive is False
    prompter.show_error('parameter "x": bad')
    assert stderr.getvalue() == 'parameter "x": bad; please try again\n'


# -- learned values and prompts ----------------------------------------------------------

def test_learned_value_is_the_prompt_default_and_is_learned_again(write_par, folders):
    write_par(folders.system, "tool", PAR)
    first = load_parameters("tool", prompter=piped("4\n")[0])
    assert first.real("p1") == 4.0
    save_learned(first)
    prompter, stdout, _ = piped("\n")
    second = load_parameters("tool", prompter=prompter)
    assert second.real("p1") == 4.0
    assert stdout.getvalue() == "Real value (0-10) [4] \n"
