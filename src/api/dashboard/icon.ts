/**
 * The icon of the dashboard and the API reference, served by the Worker like every other asset so
 * the page's CSP (`img-src 'self'`) allows it. Without one a browser asks for /favicon.ico on its
 * own and logs the 404 as a console error. SVG: a few hundred bytes, sharp at every size.
 */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#1f6feb"/>
<path d="M10 22h12.5a4.5 4.5 0 0 0 .6-8.96A6 6 0 0 0 11.6 14.2 4 4 0 0 0 10 22z" fill="#fff"/>
</svg>
`;
