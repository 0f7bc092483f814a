using CustomerAnalysis.Pipeline.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace CustomerAnalysis.Functions;

/// <summary>The web UI page at <c>/api/ui</c>. Anonymous: the page holds no data; the admin routes it calls need a
/// Functions key, which the user types into it.</summary>
public sealed class UiFunction
{
    [Function("Ui")]
    public static IActionResult Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ui")] HttpRequest request) =>
        new HttpResultAction(UiPage.Result());
}
