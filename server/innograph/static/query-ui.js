/* The query UI of innograph: YASGUI pointed at this server's SPARQL endpoint.
 *
 * The page (templates/sparql.html) gives, in #query-ui-config: the endpoint path, the project's
 * prefixes (namespaces.PREFIXES) and the query catalogue (queries/*.rq, texts in the page's
 * language). Nothing here asks another host for anything: YASGUI's class and property
 * completers, which query Linked Open Vocabularies on the web, are replaced by completers that
 * ask this server for the classes and properties of its own graph (ontology and alignments).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("query-ui-config").textContent);
  // YASGUI builds GET URLs with new URL(endpoint): it needs an absolute one.
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var Yasqe = Yasgui.Yasqe;

  var prefixLines = Object.keys(config.prefixes).map(function (name) {
    return "PREFIX " + name + ": <" + config.prefixes[name] + ">";
  });
  var startQuery = prefixLines.join("\n") + "\n\nSELECT ?thing ?label WHERE {\n  ?thing rdfs:label ?label .\n}\nLIMIT 25\n";

  // -- Completion from this server ------------------------------------------------------------

  function selectIris(query) {
    return fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/sparql-results+json",
      },
      body: new URLSearchParams({ query: query }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error("innograph: completion query answered " + response.status);
        return response.json();
      })
      .then(function (json) {
        return json.results.bindings.map(function (b) { return b.iri.value; }).sort();
      });
  }

  var TERM_QUERIES = {
    class:
      "PREFIX owl: <http://www.w3.org/2002/07/owl#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n" +
      "SELECT DISTINCT ?iri WHERE {\n" +
      "  { ?iri a owl:Class } UNION { ?iri a rdfs:Class } UNION { [] a ?iri }\n" +
      "  UNION { [] rdfs:subClassOf ?iri } UNION { [] owl:equivalentClass ?iri }\n" +
      "  FILTER isIRI(?iri)\n} LIMIT 10000",
    property:
      "PREFIX owl: <http://www.w3.org/2002/07/owl#>\nPREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\n" +
      "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n" +
      "SELECT DISTINCT ?iri WHERE {\n" +
      "  { ?iri a owl:ObjectProperty } UNION { ?iri a owl:DatatypeProperty } UNION { ?iri a owl:AnnotationProperty }\n" +
      "  UNION { ?iri a rdf:Property } UNION { [] rdfs:subPropertyOf ?iri } UNION { [] owl:equivalentProperty ?iri }\n" +
      "  UNION { [] owl:inverseOf ?iri }\n" +
      "  FILTER isIRI(?iri)\n} LIMIT 10000",
  };
  var termLists = {}; // kind -> Promise of IRIs, fetched once, on the first completion

  function localName(iri) {
    return iri.replace(/^.*[#/]/, "");
  }

  function localCompleter(kind) {
    var completer = Yasqe.Autocompleters[kind];
    if (!completer) return;
    completer.get = function (yasqe, token) {
      if (!termLists[kind]) {
        termLists[kind] = selectIris(TERM_QUERIES[kind]).catch(function (error) {
          delete termLists[kind];
          throw error;
        });
      }
      var typed = (token && token.autocompletionString) || "";
      return termLists[kind].then(function (iris) {
        if (typed.indexOf(":") >= 0) {
          return iris.filter(function (iri) { return iri.indexOf(typed) === 0; });
        }
        var word = typed.toLowerCase(); // a bare word: match the local names
        return iris.filter(function (iri) { return localName(iri).toLowerCase().indexOf(word) === 0; });
      });
    };
    completer.postProcessSuggestion = function (yasqe, token, iri) {
      var declared = yasqe.getPrefixesFromQuery();
      for (var name in declared) {
        var ns = declared[name];
        var rest = iri.substring(ns.length);
        if (iri.indexOf(ns) === 0 && /^[A-Za-z_][\w-]*$/.test(rest)) return name + ":" + rest;
      }
      return "<" + iri + ">";
    };
  }
  localCompleter("class");
  localCompleter("property");

  // Prefix completion: the project's prefixes first, then YASGUI's bundled list (no prefix.cc).
  var prefixCompleter = Yasqe.Autocompleters.prefixes;
  var bundledPrefixes = prefixCompleter.get;
  prefixCompleter.get = function (yasqe, token) {
    return Promise.resolve(bundledPrefixes.call(this, yasqe, token)).then(function (bundled) {
      var ours = Object.keys(config.prefixes);
      var others = (bundled || []).filter(function (line) { return ours.indexOf(line.split(":")[0]) < 0; });
      return ours.map(function (name) { return name + ": <" + config.prefixes[name] + ">"; }).concat(others).sort();
    });
  };
  prefixCompleter.persistenceId = "innograph_prefixes";

  // -- The editor ---------------------------------------------------------------------------

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: "innograph",
    yasqe: { value: startQuery, collapsePrefixesOnLoad: true },
    yasr: { prefixes: config.prefixes }, // results abbreviate IRIs with ours (and the query's)
    autofocus: false,
  });
  window.innographYasgui = yasgui; // for the browser tests and the curious

  // -- The catalogue ------------------------------------------------------------------------

  var examples = {};
  config.examples.forEach(function (example) { examples[example.id] = example; });

  function shortName(title) {
    return title.length > 32 ? title.substring(0, 31) + "…" : title;
  }

  document.querySelectorAll("button.example-open").forEach(function (button) {
    button.addEventListener("click", function () {
      var example = examples[button.dataset.example];
      yasgui.addTab(
        true,
        { name: shortName(example.title), yasqe: { value: example.query }, requestConfig: { endpoint: endpoint } },
        { avoidDuplicateTabs: true },
      );
    });
  });
})();
