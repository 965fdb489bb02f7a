"""What kind of card is this: a process flaw, a fear, a positive, or other?

A fear is about people (my job, blame, burnout, being replaced, outsourced or
moved); a worry about a thing ("afraid the build is flaky") is a flaw. The
classifier is a logistic regression over the card's sentence embedding plus a
few transparent signals: the column it was written in (a hint only: fears turn
up under "To improve" and flaws under "Worries"), and cue phrases.

Two stages. Whether a card is a fear is decided by a model fitted on
hand-written examples only: ``data/kind_examples.jsonl`` (edge cases, fears of
every sort) and ``data/kind_examples_boards.jsonl`` (written in the voice and
base rates of real boards). Real boards hold too few fears to learn them from,
and their fears-free problem columns would teach "a problem column is never a
fear". For every other card, flaw, positive or other is decided by a second model
fitted on the same examples plus the cards of the real boards' tune slice
(``evals/fit_kinds.py``; never the holdout), which teaches what cards under a
topic heading or a committee's name are, where the column has no role.
The fitted weights ship with the package, keyed by a hash of the examples and
every feature rule; the shipped file also records a digest of the real cards it
was fitted on, and a test fails when either is stale.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facilitator.models import KINDS, Card, Kind
from facilitator.offline import linear

DATA = Path(__file__).parent / "data"
EXAMPLES: tuple[Path, ...] = (DATA / "kind_examples.jsonl", DATA / "kind_examples_boards.jsonl")
SHIPPED = Path(__file__).parent / "data" / "kind_model.npz"
FEATURE_VERSION = "1"  # bump when features() changes: invalidates cached weights

# Cue patterns per fear sort: personal impact, not worry about things.
FEAR_CUES: dict[str, re.Pattern[str]] = {
    k: re.compile(v, re.I)
    for k, v in {
        "automation": r"\b(automat\w*|bots?|chatbots?|robots?|a\.?i\.?|chatgpt|copilot|llms?|machine learning|script\w*)\b.{0,60}\b(replac\w*|redundan\w*|jobs?|roles?|obsolete|take over|do (my|our) (job|work)|need us|headcount|positions?|staff|us)\b|\b(replac\w*|obsolete|redundan\w*)\b.{0,40}\b(automat\w*|bots?|a\.?i\.?|tool|software|script\w*)\b|\bautomated? (me|us|myself|ourselves) (away|out)\b|\b(automate|automating) (myself|ourselves|my job|our jobs)\b",
        "blame": r"\b(blam\w*|scapegoat\w*|under the bus|finger[- ]pointing|punish\w*|get in trouble|in trouble|heads? will roll|witch ?hunt|name and shame|held (personally )?responsible|pinned on|my fault|our fault|(got|get|gets|getting|be|being) written up|disciplinary|(get|got|be|being) disciplined (for|over|because)|shoot the messenger|culpa\w*|schuld\w*)\b",
        "burnout": r"\b(burn(ed|t|ing)? ?out|burnout|exhaust\w*|no (life|weekends?)|can'?t keep (up|going)|breaking point|running on empty|overwhelm\w*|drowning|sleep|stress\w*|mental health|agotad\w*|épuis\w*|erschöpf\w*|too (much|many) (hours|overtime)|overtime every|on[- ]call every|every weekend)\b"
        # Korean and Japanese: burnout, overwork, insomnia, lost sleep, pulling all-nighters
        r"|번아웃|과로|불면|燃え尽き|過労|寝不足|徹夜|不眠",
        "outsourcing": r"\b(outsourc\w*|offshor\w*|nearshor\w*|third[- ]party (team|vendor)|vendor (will|would|could) (take|replace|do)|move (our|the) (work|team|jobs?) (to|abroad)|externali[sz]\w*|subcontract\w*|cheaper (team|country|vendor))\b",
        "reorganisation": r"\b(re-?org\w*|restructur\w*|merg(e|ed|ing) (our|the|two) teams?|new (org|structure|org chart)|moved to (another|a different) team|split (up )?(our|the) team|team (will be |is being |gets |get )?(dissolved|disbanded|split)|(org|organi[sz]ation)(al)? chart|umstrukturier\w*|reorganiz\w*|reorganis\w*)\b",
        "job_security": r"\b(lay ?offs?|laid off|los(e|ing) (my|our|their) (jobs?|roles?|positions?|income)|redundanc\w*|made redundant|out of (a )?jobs?|job (cuts|losses|security)|headcount (cuts?|reduction)|let go|fired|firing|cut (jobs|positions|roles)|my (job|role|position) (is|will be) (at risk|gone|cut|next)|next to go|contracts? (not|won'?t be) renewed|fixed[- ]term contracts?|contracts? (end|ends|ending|expire\w*)|despid\w*|licenci\w*|entlass\w*|perdre (mon|notre) (emploi|travail|poste))\b",
    }.items()
}

FEAR_WORDS = re.compile(
    r"\b(afraid|scared|fear\w*|worr\w*|anxi\w*|nervous|uneasy|dread\w*|terrified|panic\w*|keeps? me up|"
    r"frightened|insecur\w*|miedo|temo|angst|peur|inquiet\w*|preocupad\w*|sorge\w*|ansios\w*|ansiedade)\b|不安|心配|怖い",
    re.I,
)
# The writer in their own words: "afraid it goes into MY rating", "afraid WE just get an email".
FIRST_PERSON = re.compile(
    r"\b(i|i'?m|me|my|we|we'?re|we'?ll|us|our|mi|mis|me|nos|nuestr[oa]s?|eu|meu|minha|nós|nosso|nossa|"
    r"ich|mich|mir|mein\w*|wir|uns|unser\w*|je|j'|moi|mon|ma|mes|nous|notre|nos)\b",
    re.I,
)
# Who the worry is about: a fear word only makes a fear when it lands on people.
PEOPLE_TARGET = re.compile(
    r"\b(my|our) (jobs?|roles?|positions?|careers?|futures?|livelihoods?|income|place|seat|contracts?)\b|"
    r"\b(job|role|position|career|livelihood|paycheck|salary|bonus)\b|\bpeople (will|would|get|are)\b|"
    r"\b(be|being|get|getting) (blamed|replaced|cut|fired|moved|punished|let go|sidelined)\b",
    re.I,
)
# The toll on a person, said without a worry word: exhaustion, being watched, being next.
PERSONAL_TOLL = re.compile(
    r"\b(fried|worn out|running on (fumes|empty)|can'?t switch off|(taking|takes) a toll|break(ing)? me|"
    r"crunch|crazy hours|burn(ed|t)? ?out|(who'?s|who is|are we|am i|we'?re|i'?m) next|watched|surveillance|"
    r"exhaust\w*|exaust\w*|tired|cansad\w*|drained|knackered|agotad\w*|erschöpft|épuisé\w*|head ?aches?|"
    r"(my|our) (head|back|eyes) hurts?|(my|our|their|team'?s?) health|(got|get|getting|gets|off|call in|called in) sick|insomnia|late nights?|all[- ]nighters?)\b"
    # Korean and Japanese: health, condition, overdoing it, tired, worn out, stress, coding until dawn
    r"|疲れ|しんどい|体調|ストレス|残業|건강|컨디션|무리하|피곤|지쳐|지친|지쳤|스트레스|몸이 ?안 ?좋|밤 ?늦게|새벽",
    re.I,
)
# A worry about one's own place said as a question or a rumour, with no worry word:
# "what happens to us", "are pickers next?", "what's left for L1?", "the MSP can take
# over", "we lost 2 posts", "don't know if I'm kept", "I'll break". People on real boards
# write their fears like this far more often than "I am afraid".
IMPLIED_WORRY = re.compile(
    r"\bwhat (happens|will happen|is going to happen) to (us|me|them|my|our|the (team|staff|people|desk))\b|"
    r"\bwhat'?s (left|the point) (for|of) (us|me|my|our|l1|l2|the)\b|"
    r"\b(are|is) (the )?[\w-]+ next\b|\b(fewer|less) (night |day )?(seats|posts|staff|jobs|roles)\b|"
    r"\b(lost|losing|lose|cut|cutting|reduce[sd]?) (\d+|one|two|three|some|our|the)? ?(posts|seats|positions|jobs|roles|"
    r"headcount|fte)\b|\bhow many (posts|seats|jobs|people|fte|positions|puestos)\b|\bcuántos puestos\b|"
    r"\b(why|whether) (they|we|the \w+) (still )?need (us|me|\w+ (techs?|staff|people|assessors|analysts))\b|"
    r"\b(will|would) (they|we) (still )?keep (us|me|the \w+|\w+s)\b|\bdon'?t know if (i'?m|i am|we'?re|we are) "
    r"(kept|staying|safe)\b|\b(still )?have a job\b|\b(msp|3pl|managed service|partner company|vendor|contractor)s?\b"
    r".{0,40}\b(take over|takes over|to quote|quote for|goes|moves|moving)\b|"
    r"\b(goes|go|moves?|moving|going) to (a|an|the) (vendor|partner|3pl|msp|contractor|managed service)|"
    r"\b(or i'?ll break|keep up this pace|how long (i|my body) (can )?(keep|hold)s?)|\bpublic(ly)? sham\w*|"
    r"\bwho[- ]broke[- ]it\b|\bfelt like a trial\b|\bnobody will admit\b|\bboję się\b|"
    r"\bwhat (happens|will happen) to (the )?\w+(ers|ors|ists|ysts|ians|staff|colleagues|folks)\b|"
    r"\bhow long (before|until) (it|they|the \w+) .{0,40}\b(us|me|the (team|desk|service desk)|our jobs)\b|"
    r"\b(if|whether) (my|our) (job|role|position|team)s? (survives?|is safe|stays|will (survive|stay|exist))\b|"
    r"\bfte (released|saved|reduc\w*|cut)\b|\bwho approved (this|that|it)\b|"
    r"\bthe last (person|one) who (did|raised|reported|spoke up)\b|"
    r"\b(service cent(re|er)|offshore|abroad)\b.{0,60}\b(tak(e|es|ing) over|quote)\b|"
    # people on their way out: the signs a team shows before it says "burnout" or "layoffs"
    r"\bupdating (my|our|their|his|her) (cvs?|resumes?|résumés?|linkedin)\b|\b(looking for|applying for) (another|a new|other) jobs?\b(?! (board|runner|queue|posting|title|scheduler))|"
    r"\bjob[- ]hunting\b|\b(thinking|thought) (of|about) (quitting|leaving)\b|\b(handed|hand|handing) in (my|our|their|his|her) notice\b|"
    r"\bpeople (are )?(leaving|quitting) (the team|the company|one by one)\b|"
    r"\b(i|we) (cried|can'?t sleep|dread)\b|\bantidepressants?\b|\bchecking (my|our) (screen|idle|keystroke|activity)",
    re.I,
)
POSITIVE_CUES = re.compile(
    r"\b(thanks?|thank you|kudos|shout[- ]?out|great|love[ds]?|loved|awesome|well done|good job|nice|"
    r"helped|helpful|glad|happy|proud|smooth\w*|improved|better|excellent|fantastic|appreciat\w*|"
    r"celebrat\w*|worked well|went well|fun|gracias|danke|merci|super|intéressant|passionnant|génial|sympa|"
    r"genial|excelente|me gust\w*|ótim[oa]|gostei|obrigad[oa]|legal)\b|[🎉👏🙌💪❤]|좋았|좋은|재밌|재미있|유익|감사|신선",
    re.I,
)
FLAW_CUES = re.compile(
    r"\b(broken|flaky|slow|fail\w*|bugs?|late|delay\w*|block\w*|unclear|confus\w*|missing|lack\w*|"
    r"too (many|much|long|slow)|never|nobody|no one|manual\w*|rework|outage\w*|incidents?|backlog|"
    r"bottleneck\w*|waste\w*|waiting|duplicat\w*|inconsistent|hard to|difficult|painful|chaos|"
    r"interrupt\w*|overdue|error\w*|again|keeps? (breaking|failing)|doesn'?t work|not working|"
    r"should|need(s|ed)? to|stop|start|why do we|can we|difficile|manque\w*|dommage|falta\w*|difícil|demasiad[oa]s?|"
    r"faltou)\b|아쉬|어려웠|어려움|부족|힘들",
    re.I,
)
OTHER_CUES = re.compile(
    r"^\s*(question|q:|fyi|reminder|note:|who |when |where |does anyone|is there|off[- ]topic|"
    r"pizza|lunch|coffee|party|offsite|birthday|welcome)\b|\?\s*$",
    re.I,
)

# --- columns ----------------------------------------------------------------
# A column's role, read from its name as people write it. Order matters: the
# negated forms ("didn't go well", "could be better") come before "well"/"better".
ColumnRole = str  # "positive" | "problem" | "proposal" | "worry" | "other"
COLUMN_ROLES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I), role)
    for p, role in [
        (r"\b(did ?n.?t|did not|not|less|least|could be|could have been|could have gone|could go|should be|should have)"
         r" (go |gone |been )?(so |as |very )?(well|good|better|right)\b|\bwent wrong\b|\bwrong\b"
         r"|\b(did ?n.?t|did not|does ?n.?t|not) work"
         # the same in the languages teams write boards in (pt, es, fr, de, ja)
         r"|\bn[ãa]o (foi|deu|correu|funcionou)|\bno (fue|sali[óo]|funcion[óo])|\bpas bien\b|\bnicht gut\b"
         r"|\bnegativ\w*|\bpontos? fracos\b|\ba melhorar\b|\bà améliorer\b|\bpor mejorar\b"
         r"|よくなかった|良くなかった|悪かった|問題|課題|反省|困った|困りごと"
         # "What didn't" with nothing after it; Italian
         r"|\b(did ?n.?t|did not)\W*$|\bmigliorat\w*|\bda migliorare\b|\bpunti (negativi|deboli)\b|\bnon ha funzionato\b"
         r"|나쁜 ?점|안 ?좋았던 ?점|아쉬운 ?점|아쉬웠던 ?점|개선할 ?점|개선점|문제점|\bhacer menos\b|\bdejar de hacer\b", "problem"),
        (r"\b(worr\w*|concerns?|fears?|anxiet\w*|scared|afraid|mood|humou?r|feelings?|well ?being|bem estar|"
         r"[áa]nimo|stimmung|sorgen?|bedenken|befürchtungen)\b|気持ち|不安|心配", "worry"),
        (r"^(todo|to ?do|to-do)$|\b(comenzar|empezar)( a hacer)?\b|\bhacer m[aá]s\b|시도할 ?점|해볼 ?것|"
         r"つぎやること|次やること|次にやること|\b(start\w*|ideas?|try|tries|actions?|action items?|next( steps?)?|todo|suggest\w*|proposals?|experiments?|improvements? to make|longed for|bud|buds|island|we should|change|do differently|differently"
         r"|sugest\w*|suger\w*|ideias?|idées?|propuestas?|propostas?|acciones|a[cç][õo]es|próximos passos|"
         r"à essayer|ausprobieren|maßnahmen|vorschläge|ideen|beginnen|anfangen|gewünscht|wünsche|knospen?)\b|試したい|やってみたい|次回|改善案|アクション", "proposal"),
        (r"\b(stop\w*|lacked|lack\w*|problems?|issues?|pain\w*|blockers?|block\w*|challeng\w*|puzzles?|puzzl\w*|frustrat\w*|bad|sad|mad|thorns?|anchors?|rocks?|risks?|delta|deltas|minus|cons|improve\w*|to improve|drop|dislike\w*|hate"
         r"|contributing factors?|root causes?|problemas?|problèmes?|probleme?|dificultad\w*|dificuldades?"
         r"|verbesser\w*|aufhören|wütend|traurig|gefehlt|dorn(en)?|schlecht\w*)\b", "problem"),
        (r"\b(well|worked|glad|happy|good|great|continue|keep\w*|liked?|loved?|kudos|wins?|winds?|thanks?|thank you|shout\w*|highlights?|appreciat\w*|celebrat\w*|plus|pluses|pros|roses?|proud|positives?|successe?s?|awesome"
         r"|positiv\w*|pontos? fortes|funcionou|lo bueno|o que (foi|deu) bem|ce qui a marché|was lief gut|gut|weitermachen|beibehalten|froh|gefallen"
         r"|continuar haciendo|seguir haciendo|enjoy\w*"
         r"|what (did )?(you|we|i) (learn|learned|learnt)|things? (you|we|i) (learned|learnt))\b|좋은 ?점|좋았던 ?점|잘한 ?점|잘된 ?점"
         r"|良かった|よかった|良い点|続けたい"
         # what was fun, what we got done (Japanese); YWT's "what we did" and "what we learned"
         # (やったこと, わかったこと) have no role: a record, and lessons as often as wins
         r"|楽しかった|できたこと|出来たこと"
         r"|cosa ha funzionato|è andato bene|punti di forza", "positive"),
        (r"\b(questions?|other|misc\w*|parking( lot)?|off ?topic|announce\w*|notes?|discuss\w*|observations?|comments?"
         r"|meta|metaretro)\b", "other"),
    ]
]


def column_role(column: str | None) -> str | None:
    """What a column is for, from its name: positive, problem, proposal, worry, other (or None)."""
    if not column:
        return None
    name = " ".join(re.sub(r"[_\-/]+", " ", column).replace("\u2019", "'").split()).lower()
    if name in {"+", "plus", "k"}:  # "K", "P", "T": KPT boards as often headed by letter as by word
        return "positive"
    if name in {"-", "minus", "\u0394", "\u03b4", "delta", "p"}:
        return "problem"
    if name == "t":
        return "proposal"
    for pat, role in COLUMN_ROLES:
        if pat.search(name):
            return role
    return None


_ROLE_HINT = {"positive": "positive", "problem": "flaw", "proposal": "flaw", "worry": "fear", "other": "other"}
EMPTY_CARD = re.compile(r"^\W*(nothing|none|nope|no|n/?a|nil|-+|\.+|tbd|same|ditto|idk|\?+)\W*$", re.I)
PROPOSAL_START = re.compile(
    r"^\W*(we should|should we|let'?s|lets|maybe|perhaps|try|start|stop|keep|add|create|write|document|automate|"
    r"would be (good|nice|great)|would love|would have been (nice|great|good)|gotta|want|wish|figure out|cut|"
    r"do|find|conduct|learn|estimate|hold|share|assign|rotate|pair|ask|invite|track|log|check|prioriti[sz]e|"
    r"needs? (more|to)|more of|less of|next time|in future|going forward|"
    r"set up|setup|schedule|move|make|use|introduce|agree|define|have|get|plan|review|limit|reduce|increase|"
    r"more|less|fewer|consider|propose|proposal|idea|suggest\w*|need to|needs to|we need|i'?d like|could we|can we)\b",
    re.I,
)


def is_proposal(card: Card) -> bool:
    """A card that proposes a fix: written in a proposals column, or phrased as one."""
    return column_role(card.column) == "proposal" or bool(PROPOSAL_START.search(card.text))


COLUMN_KINDS = ("fear", "positive", "flaw", "other")
# The fear operating point. The examples are about a quarter fears; real boards
# hold one or two in a hundred cards, so the classifier's fear odds are scaled
# to real base rates times a cost: a hidden fear costs more than a false one
# (the product exists to surface it), but a list full of false fears buries the
# real ones and teaches facilitators to ignore it. A card is a fear when its
# weighted fear probability is over one half, and the weight follows its evidence
# (``fear_evidence``): it lands on people (16), a worry in the writer's own voice
# (12), a worry word about a thing, a job named or a worry column (4), none (0.35).
#
# Chosen by counting a hidden fear as five false ones over the real tune slice
# (56 boards, 17 fears), the written set (133 fears) and the heldout coverage set's
# 60 fear statements (every one a fear, mostly "afraid ..." with a stake no cue names:
# "goes into my rating", "learn it at home unpaid"). Fears found, false fears:
#   before: the likeliest of four kinds (0.3 / 0.25 / 0.25 / 0.2 made a fear),
#   one factor 4 for any evidence, 0.2 for none:
#                                  tune 8, 16 | written 112, 16 | statements 54
#   over 1/2, 16 / 4 / 4 / 0.35:   15, 17 | 132, 16 (4.8% of flaws) | 53
#   over 1/2, 16 / 8 / 8 / 0.35:   15, 20 | 132, 21 | 56  ("Afraid the build is flaky
#                                  again" in a worry column became a fear)
#   over 1/2, 16 / 12 / 4 / 0.35:  15, 17 | 132, 21 (6.6%) | 57   <- kept
#   over 1/2, 16 / 16 / 4 / 0.35:  15, 18 | 132, 21 | 57
#   over 1/2, 16 / 12 / 2 / 0.35:  15, 17 | 130, 19 | 57
#   over 1/2, 16 / 4 / 4 / 0.2:    15, 12 | 127, 15 | -
#   over 1/2, 8 / 4 / 4 / 0.35:    15, 16 | 128, 16 | -
# (rows measured as the cues stood then; the kept row as shipped. The written set's
# fear recall is largely in-sample: IMPLIED_WORRY holds cues
# written for its missed fears). Most of the real fears found came from cues, not
# from these factors: PERSONAL_TOLL reading health and exhaustion in Korean and
# Japanese took the tune slice from 7 to 12 of 16 at the old point.
FEAR_PRIORS: dict[str | None, float] = {"people": 16.0, "worry": 12.0, "thing": 4.0, None: 0.35}
SIGNAL_WEIGHT = 0.25  # binary signals sit beside unit-length embeddings; keep them comparable
REAL_WEIGHT = 0.5
"""Weight of a real board's card beside a hand-written example in the second stage.
Leave-one-board-out on the tune slice (24 boards), kind accuracy: 0.887 with no real
cards, 0.907 at 0.5, 0.899 at 1, 0.891 at 2; the written set 0.865, 0.862, 0.862, 0.856.
Adding the real cards to the one model instead (fears included) gave 0.910 on tune
but cost the written set 0.018 and 5 of 133 fears: it learnt that fears written in a
"Rocks" or "Didn't go well" column are flaws."""


def column_hint(column: str | None) -> str | None:
    """The kind a column suggests (a feature of the classifier)."""
    role = column_role(column)
    return _ROLE_HINT.get(role) if role else None


def cue_types(text: str) -> list[str]:
    """Fear sorts whose cue phrases occur, in precedence order."""
    return [ft for ft, pat in FEAR_CUES.items() if pat.search(text)]


def signals(card: Card) -> np.ndarray:
    text = card.text
    hint = column_hint(card.column)
    fear_word = bool(FEAR_WORDS.search(text))
    people = bool(PEOPLE_TARGET.search(text))
    cues = cue_types(text)
    row = [hint == k for k in COLUMN_KINDS]
    row += [ft in cues for ft in FEAR_CUES]
    row += [
        bool(cues),
        fear_word and people,
        fear_word and not people and not cues,
        bool(POSITIVE_CUES.search(text)),
        bool(FLAW_CUES.search(text)),
        bool(OTHER_CUES.search(text)),
        text.rstrip().endswith("?"),
    ]
    return np.array(row, dtype=np.float32) * SIGNAL_WEIGHT


def features(cards: list[Card], vectors: np.ndarray) -> np.ndarray:
    return np.hstack([vectors, np.stack([signals(c) for c in cards])]).astype(np.float64)


def fear_evidence(card: Card) -> str | None:
    """Lexical evidence that a card is about a person's worry (not proof: a hint for the
    prior). ``"people"`` when it lands on people: a fear cue, a worry about one's own
    place, the toll on a person, a worry word about jobs or roles; ``"worry"`` when the
    writer voices a worry about themselves ("afraid it goes into my rating"); ``"thing"``
    when only a worry word ("Afraid the build is flaky again" worries about a thing), a
    job or role named ("awesome job as volunteer chair") or a worry column says so."""
    text = card.text
    worry_word, people = bool(FEAR_WORDS.search(text)), bool(PEOPLE_TARGET.search(text))
    if cue_types(text) or IMPLIED_WORRY.search(text) or PERSONAL_TOLL.search(text) or (worry_word and people):
        return "people"
    if worry_word and FIRST_PERSON.search(text):
        return "worry"
    if worry_word or people or column_role(card.column) == "worry":
        return "thing"
    return None


def voices_worry(card: Card) -> bool:
    """The card itself says someone is worried about people: a worry word, a fear cue,
    or a worry about one's own place said without one."""
    return bool(cue_types(card.text)) or bool(FEAR_WORDS.search(card.text) or IMPLIED_WORRY.search(card.text))


def may_be_fears(cards: list[Card], themes) -> list[str]:
    """Cards the analysis kept out of the fears that still voice a worry (a worry word, a
    fear cue, a worry said without one, the toll on a person). A hidden fear costs more
    than a second look: the facilitator sees these in review, and one click makes each a
    worry of its own. On the real tune boards that is 0.5% of the cards, 2 of them among
    the 3 fears the kinds missed."""
    fears = {cid for t in themes if t.kind == "fear" for cid in t.card_ids}
    return [c.id for c in cards if c.id not in fears and (voices_worry(c) or PERSONAL_TOLL.search(c.text))]


def card_role(card: Card) -> str | None:
    """The column's role; in a column without one (a topic, a committee) a card
    phrased as a proposal is read as one."""
    role = column_role(card.column)
    if role is None and PROPOSAL_START.search(card.text):
        return "proposal"
    return role


def role_mask(card: Card, classes: list[str]) -> np.ndarray:
    """Which kinds a card's column allows: a positive column holds no flaws, a
    problem column no positives, a proposals column no fears unless the card
    itself voices a worry. Returned as a 0/1 multiplier over ``classes``."""
    role = card_role(card)
    banned: set[str] = set()
    if role == "positive":
        banned = {"flaw"} | (set() if voices_worry(card) else {"fear"})
    elif role == "problem":
        banned = {"positive"}
    elif role == "proposal":
        banned = {"positive"} | (set() if voices_worry(card) else {"fear"})
    return np.array([0.0 if k in banned else 1.0 for k in classes])


_ROLE_KIND = {"positive": "positive", "problem": "flaw", "proposal": "flaw"}


def column_kind(card: Card, predicted: str) -> str:
    """On real boards the column decides everything but a fear: a card that is
    not a fear takes its column's kind (a question or an aside stays ``other``)."""
    role = card_role(card)
    if predicted == "fear" or role not in _ROLE_KIND:
        return predicted
    if predicted == "other" and (OTHER_CUES.search(card.text) or EMPTY_CARD.match(card.text)):
        return "other"
    return _ROLE_KIND[role]


@dataclass
class CardKind:
    kind: Kind
    fear_type: str | None
    confidence: float


def load_examples(paths: tuple[Path, ...] = EXAMPLES) -> list[dict]:
    rows = []
    for path in paths:
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        if r["kind"] not in KINDS:
            raise ValueError(f"bad kind in the kind examples: {r}")
    return rows


def feature_source() -> str:
    """Everything that shapes ``features()`` besides the embedder: every cue
    pattern, the column roles and hints, and the signal weight. Editing any of
    them changes the key, so stale shipped or cached weights are never loaded."""
    parts = [FEATURE_VERSION, repr(SIGNAL_WEIGHT), repr(COLUMN_KINDS), repr(sorted(_ROLE_HINT.items()))]
    parts += [f"{k}={p.pattern}/{p.flags}" for k, p in FEAR_CUES.items()]
    parts += [f"{p.pattern}/{p.flags}" for p in (FEAR_WORDS, PEOPLE_TARGET, POSITIVE_CUES, FLAW_CUES, OTHER_CUES)]
    parts += [PERSONAL_TOLL.pattern, IMPLIED_WORRY.pattern, PROPOSAL_START.pattern, EMPTY_CARD.pattern]
    parts += [f"{role}={p.pattern}/{p.flags}" for p, role in COLUMN_ROLES]
    return "\n".join(parts)


def model_key(embedder_name: str, examples: tuple[Path, ...] = EXAMPLES) -> str:
    """Identifies a fit: the examples, every feature rule and the embedder."""
    return linear.model_key(*(p.read_bytes() for p in examples), feature_source(), embedder_name)


MODELS = ["kind", "fear", "rest"]


class KindClassifier:
    """Deterministic. Fitted weights ship in ``SHIPPED`` (regenerate with
    ``python -m evals.fit_kinds``); if they do not match the examples, the features or
    the embedder, it trains at first use on the examples alone (the real boards are not
    part of the package) and caches in ``cache_dir``."""

    def __init__(
        self, embedder, cache_dir: Path | None = None, examples: tuple[Path, ...] = EXAMPLES,
        real_cards: list[dict] | None = None,
    ):
        """``real_cards`` (text, column, kind), when given, are fitted into the second
        stage instead of loading shipped or cached weights."""
        key = model_key(embedder.name, examples)
        cache = cache_dir / f"kind-model-{key}.npz" if cache_dir else None
        if real_cards is None and (models := linear.load([SHIPPED, cache], MODELS, key)):
            self._kind, self._fear, self._rest = models["kind"], models["fear"], models["rest"]
            return
        rows = load_examples(examples)
        real = [r for r in real_cards or () if r["kind"] != "fear"]
        cards = [Card(id=str(i), text=r["text"], column=r.get("column")) for i, r in enumerate(rows + real)]
        x = features(cards, embedder.embed([c.text for c in cards]))
        n = len(rows)
        self._kind = linear.fit(x[:n], [r["kind"] for r in rows])
        fear_rows = [i for i, r in enumerate(rows) if r["kind"] == "fear"]
        self._fear = linear.fit(x[fear_rows], [rows[i]["fear_type"] or "other" for i in fear_rows])
        rest = [i for i, r in enumerate(rows) if r["kind"] != "fear"] + list(range(n, n + len(real)))
        weights = np.array([1.0 if i < n else REAL_WEIGHT for i in rest])
        self._rest = linear.fit(x[rest], [(rows + real)[i]["kind"] for i in rest], sample_weight=weights)
        if cache and real_cards is None:
            linear.save(cache, self.models, key)

    @property
    def models(self) -> dict[str, linear.Linear]:
        return {"kind": self._kind, "fear": self._fear, "rest": self._rest}

    def classify(self, cards: list[Card], vectors: np.ndarray) -> list[CardKind]:
        if not cards:
            return []
        x = features(cards, vectors)
        jf = self._kind.classes.index("fear")
        p = self._kind.proba(x)
        p[:, jf] *= np.array(
            [FEAR_PRIORS[fear_evidence(c)] for c in cards]
        )
        p *= np.stack([role_mask(c, self._kind.classes) for c in cards])
        p /= np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        # The second stage: flaw, positive or other, for every card the first did not call a fear.
        pr = self._rest.proba(x) * np.stack([role_mask(c, self._rest.classes) for c in cards])
        pr /= np.clip(pr.sum(axis=1, keepdims=True), 1e-12, None)
        pf = self._fear.proba(x)
        out = []
        for i, card in enumerate(cards):
            if EMPTY_CARD.match(card.text):
                out.append(CardKind("other", None, 1.0))
                continue
            # A fear when the cost-weighted odds say more likely a fear than not; every
            # other card takes the second stage's flaw, positive or other.
            if p[i, jf] > 0.5:
                kind, confidence = "fear", float(p[i, jf])
            else:
                j = int(np.argmax(pr[i]))
                kind, confidence = self._rest.classes[j], float(pr[i, j])
            kind = column_kind(card, kind)
            fear_type = None
            if kind == "fear":
                # Cue order encodes precedence: an automation cue beats a generic job-loss cue.
                cues = cue_types(card.text)
                fear_type = cues[0] if cues else self._fear.classes[int(np.argmax(pf[i]))]
            out.append(CardKind(kind, fear_type, confidence))  # type: ignore[arg-type]
        return out
