import { render } from 'preact';
import { adoptTokenFromLocation } from './auth/credentials.ts';
import { App } from './shell/app.tsx';
import './styles.css';

// `plugboard serve` in development prints `http://…/#token=…`: take the admin token into this
// tab's session before anything reads the address. Also when such a link is opened in a tab
// that already shows the UI: this listener is added before the page's own (useRoute), so the
// route is read from the address without the token.
adoptTokenFromLocation();
addEventListener('hashchange', adoptTokenFromLocation);

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
