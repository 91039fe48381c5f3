import { render } from 'preact';
import { adoptTokenFromLocation } from './auth/credentials.ts';
import { App } from './shell/app.tsx';
import './styles.css';

// `plugboard serve` in development prints `http://…/#token=…`: take the admin token into this
// tab's session before anything reads the address.
adoptTokenFromLocation();

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
