// Anju's GraphiQL page: the API at this page's own address, queries over HTTP and
// subscriptions over WebSocket (graphql-transport-ws). Headers (an Authorization bearer
// token) are typed in the Headers tab and never stored: a shared machine keeps no token.
// ?q=<document> opens with that document (not ?query=, which runs it as a GET request).
(function () {
  "use strict";
  var DEFAULT_QUERY = [
    "# Anju's GraphQL API. Log in with the logIn mutation, then put",
    '# {"Authorization": "Bearer <accessToken>"} in the Headers tab below.',
    "#",
    "# Ctrl-Enter runs the query; Ctrl-Space completes.",
    "",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\n");
  var url = window.location.origin + window.location.pathname;
  var params = new URLSearchParams(window.location.search);
  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: url.replace(/^http/, "ws"),
  });
  var plugins = [];
  if (window.GraphiQLPluginExplorer) {
    plugins.push(GraphiQLPluginExplorer.explorerPlugin());
  }
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      defaultQuery: params.get("q") || DEFAULT_QUERY,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
