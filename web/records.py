"""The JSON form of what the engine answers, shared by the API, the HTML
pages (which present the same data) and the command line's ``--json``."""
from __future__ import annotations

from storysearch.index.stories import Story
from storysearch.searcher.engine import SearchEngine
from storysearch.searcher.filters import FilterArg
from storysearch.searcher.hits import Hit
from storysearch.searcher.hybrid import describe_fusion
from storysearch.searcher.practice_answers import PracticeAnswer
from storysearch.searcher.practices import CatalogPractice
from storysearch.searcher.similar import SimilarHit
from storysearch.searcher.suggest import Completion, Suggestion


def story_ref(story: Story) -> dict:
    """What a hit says of its story: headline, authors, where and when printed."""
    return {"id": story.id, "headline": story.headline, "subheadline": story.subheadline,
            "source": story.source, "authors": story.authors, "paper": story.paper, "date": story.date,
            "page": story.page, "page_name": story.page_name, "url": story.url, "origin": story.origin,
            "places": [{"name": p["name"], "level": p["level"], "path": p["path"]} for p in story.places],
            "practices": [{"name": p["name"], "kind": p["kind"], "place": p["place"], "definition": p["definition"]}
                          for p in story.practices],
            "parts": [{"page": part["page"], "source": part["source"]} for part in story.parts]}


def hit_record(hit: Hit, story: Story, explain: bool = False, fusion: str | None = None) -> dict:
    record = {
        **story_ref(story),
        "score": round(hit.score, 6),
        "rank": hit.rank,
        "ranks": {"keyword": hit.ranks.get("keyword"), "semantic": hit.ranks.get("semantic")},
        "matched": hit.matched,
    }
    if explain:
        record["explain"] = {
            name: {"rank": hit.ranks.get(name),
                   "score": None if hit.scores.get(name) is None else round(hit.scores[name], 6)}
            for name in ("keyword", "semantic")
        }
        if len(hit.scores) > 1:
            record["explain"]["fused"] = {"score": round(hit.score, 6), "method": describe_fusion(fusion)}
    return record


def search_response(engine: SearchEngine, query: str, mode: str = "hybrid", k: int = 10, filters: FilterArg = None,
                    offset: int = 0, explain: bool = False, fusion: str | None = None, sort: str = "relevance") -> dict:
    """One page of results for the request, as the API answers it."""
    results = engine.results(query, mode, k, filters, offset, fusion, sort)
    ranking = results.ranking
    without_filters = None  # found nothing where the filters let through: how many stories it finds without them
    if query.strip() and results.filters and not (ranking.total or ranking.related):
        whole = engine.ranking(query, mode, None, fusion)  # (the ranking the 去掉筛选条件 link asks for)
        without_filters = whole.total + whole.related
    return {"query": query, "mode": mode, "sort": ranking.sort, "filters": results.filters.active,
            "total": ranking.total, "related": ranking.related, "without_filters": without_filters,
            "ranked": len(ranking.hits),
            "offset": results.offset, "facets": ranking.facets,
            "hits": [hit_record(hit, story, explain, results.fusion)
                     for hit, story in zip(results.hits, results.stories)],
            "did_you_mean": suggestion_record(engine.did_you_mean(query)),
            "warnings": engine.warnings}


def suggestion_record(suggestion: Suggestion | None) -> dict | None:
    """Did you mean: the corrected query and what was replaced (the web adds its link)."""
    if suggestion is None:
        return None
    return {"query": suggestion.query,
            "corrections": [{"typed": c.typed, "suggested": c.suggested, "stories": c.stories}
                            for c in suggestion.corrections]}


def completions_response(prefix: str, completions: list[Completion]) -> dict:
    """What the search box offers for what was typed so far."""
    return {"prefix": prefix, "completions": [{"text": c.text, "kind": c.kind, "stories": c.stories}
                                              for c in completions]}


def similar_record(hit: SimilarHit, story: Story) -> dict:
    return {**story_ref(story), "score": round(hit.score, 6), "rank": hit.rank, "reason": hit.reason}


def _answering_practice(answer: PracticeAnswer, stories: dict[str, Story]) -> dict:
    story = stories[answer.story]
    return {"name": answer.name, "key": answer.key, "kind": answer.kind, "place": answer.place,
            "definition": answer.definition, "score": round(answer.score, 6),
            "similarity": round(answer.similarity, 6), "found_by": list(answer.found_by),
            "story": {"id": story.id, "headline": story.headline, "paper": story.paper, "date": story.date,
                      "page": story.page, "page_name": story.page_name, "source": story.source}}


def practice_answer_record(answer: PracticeAnswer, stories: dict[str, Story]) -> dict:
    """A place's practice as an answer: what it is, where, the story that
    reports it, and the place's other practices that answer (``also``)."""
    return {**_answering_practice(answer, stories), "rank": answer.rank,
            "also": [_answering_practice(other, stories) for other in answer.also]}


def similar_response(engine: SearchEngine, story_id: str | None = None, text: str | None = None, k: int = 10) -> dict:
    """The practices of ``k`` places and the ``k`` stories nearest a story or a text, as the API answers it."""
    answers = engine.similar_practices(story_id, text, k)
    hits = engine.similar_hits(story_id, text, k)
    about = {"id": story_id, "headline": engine.stories[story_id].headline} if story_id is not None else {"text": text}
    return {"about": about,
            "practices": [practice_answer_record(answer, engine.stories) for answer in answers],
            "hits": [similar_record(hit, story) for hit, story in hits]}


def practice_record(practice: CatalogPractice, engine: SearchEngine | None = None, elsewhere_k: int = 10) -> dict:
    """One practice of the catalogue; with ``engine``, its stories as story
    refs (newest first) and the ``elsewhere_k`` closest practices of other places."""
    record = {"name": practice.name, "key": practice.key, "kind": practice.kind, "definition": practice.definition,
              "places": practice.places, "names": practice.names, "stories": practice.stories,
              "story_ids": practice.story_ids}
    if engine is not None:
        record["story_refs"] = [story_ref(engine.stories[story_id]) for story_id in practice.story_ids]
        record["elsewhere"] = [practice_answer_record(answer, engine.stories)
                               for answer in engine.practices_elsewhere(practice, elsewhere_k)]
    return record


def practices_response(engine: SearchEngine, q: str = "", place: str = "", kind: str = "", k: int = 50) -> dict:
    """The practices matching the request, most stories first, as the API answers it."""
    found = engine.practices.matching(q, place, kind)
    return {"q": q, "place": place, "kind": kind, "k": k, "total": len(found),
            "practices": [practice_record(practice) for practice in found[:k]]}
